/**
 * NextAuth: email + password sign-in against the users table; JWT sessions carrying the user id and the
 * account's session version. Every request then reads the account fresh (server/trpc.ts), so a disabled
 * account or a raised version ends its sessions at once, whatever the cookie says.
 */
import type { NextAuthOptions } from "next-auth";
import { getToken } from "next-auth/jwt";
import Credentials from "next-auth/providers/credentials";
import { env } from "../env";
import { services } from "../services";
import { clientAddress, signIn } from "./sign-in";

/** A session lasts a working day after its last use; then its holder signs in again. */
export const SESSION_MAX_AGE_S = 8 * 3600;

export interface SessionClaims {
  userId: string;
  sessionVersion: number;
}

export const authOptions: NextAuthOptions = {
  session: { strategy: "jwt", maxAge: SESSION_MAX_AGE_S, updateAge: 15 * 60 },
  pages: { signIn: "/signin" },
  get secret() {
    return env().NEXTAUTH_SECRET;
  },
  providers: [
    Credentials({
      name: "Email",
      credentials: { email: { label: "Email", type: "email" }, password: { label: "Password", type: "password" } },
      async authorize(credentials, req) {
        if (!credentials?.email || !credentials.password) return null;
        const result = await signIn(services(), {
          email: credentials.email,
          password: credentials.password,
          address: clientAddress(req?.headers),
        });
        if (result.ok) return { id: result.user.id, email: result.user.email, name: result.user.name, sessionVersion: result.user.sessionVersion };
        if (result.reason === "rate-limited") {
          // NextAuth hands this message to the sign-in form.
          throw new Error(`too many failed sign-ins; try again in ${result.retryAfterMinutes} min`);
        }
        return null;
      },
    }),
  ],
  callbacks: {
    jwt({ token, user }) {
      if (user) {
        token.sub = user.id;
        token.sessionVersion = (user as { sessionVersion?: number }).sessionVersion ?? 0;
      }
      return token;
    },
    session({ session, token }) {
      if (session.user) (session.user as { id?: string }).id = token.sub;
      return session;
    },
  },
};

/** Reads a `Cookie:` header into name → value. */
function parseCookies(header: string | null): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq < 1) continue;
    try {
      cookies[part.slice(0, eq).trim()] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      // a malformed cookie is no session
    }
  }
  return cookies;
}

/**
 * The session a request's cookies carry, once its encryption and expiry check out; null otherwise. Everything
 * that serves a signed-in user (tRPC, media, artifacts, server-rendered pages) gets its identity here.
 */
export async function sessionFromCookies(cookieHeader: string | null): Promise<SessionClaims | null> {
  const token = await getToken({
    req: { cookies: parseCookies(cookieHeader), headers: {} } as unknown as Parameters<typeof getToken>[0]["req"],
    secret: env().NEXTAUTH_SECRET,
  });
  if (!token?.sub) return null;
  const version = token.sessionVersion;
  return { userId: token.sub, sessionVersion: typeof version === "number" ? version : 0 };
}
