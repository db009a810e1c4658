/** NextAuth: email + password sign-in against the users table; JWT sessions carrying the user id. */
import { eq } from "drizzle-orm";
import type { NextAuthOptions } from "next-auth";
import { getServerSession } from "next-auth";
import Credentials from "next-auth/providers/credentials";
import { users } from "../../db/schema";
import { env } from "../env";
import { services } from "../services";
import { verifyPassword } from "./password";

export const authOptions: NextAuthOptions = {
  session: { strategy: "jwt", maxAge: 30 * 24 * 3600 },
  pages: { signIn: "/signin" },
  get secret() {
    return env().NEXTAUTH_SECRET;
  },
  providers: [
    Credentials({
      name: "Email",
      credentials: { email: { label: "Email", type: "email" }, password: { label: "Password", type: "password" } },
      async authorize(credentials) {
        const email = credentials?.email?.trim().toLowerCase();
        if (!email || !credentials?.password) return null;
        const user = await services().db.query.users.findFirst({ where: eq(users.email, email) });
        if (!user || user.disabled) return null;
        if (!(await verifyPassword(credentials.password, user.passwordHash))) return null;
        return { id: user.id, email: user.email, name: user.name };
      },
    }),
  ],
  callbacks: {
    jwt({ token, user }) {
      if (user) token.sub = user.id;
      return token;
    },
    session({ session, token }) {
      // Role and status are read fresh from the database per request (server/trpc.ts), not trusted from here.
      if (session.user) (session.user as { id?: string }).id = token.sub;
      return session;
    },
  },
};

/** The signed-in user's id, or null. */
export async function sessionUserId(): Promise<string | null> {
  const session = await getServerSession(authOptions);
  return (session?.user as { id?: string } | undefined)?.id ?? null;
}
