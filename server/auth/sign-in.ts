/**
 * Email + password sign-in, rate-limited per account and per address. The counts live in Postgres, so the limit
 * holds across web processes and restarts. Unknown, disabled and known accounts cost the same scrypt work.
 */
import { eq, sql } from "drizzle-orm";
import { signInFailures, users } from "../../db/schema";
import type { Services } from "../services";
import { hashPassword, needsRehash, verifyAgainstDummy, verifyPassword } from "./password";

/** Failed attempts allowed per window before that account (or address) must wait for the window to end. */
export const SIGN_IN_LIMITS = { account: 10, address: 50, windowMinutes: 15 } as const;

export type SignInResult =
  | { ok: true; user: { id: string; email: string; name: string; sessionVersion: number } }
  | { ok: false; reason: "wrong-credentials" }
  | { ok: false; reason: "rate-limited"; retryAfterMinutes: number };

/**
 * The client's address as the nearest proxy saw it: the last X-Forwarded-For entry (Next.js fills it from the
 * socket when no proxy set it). Without a proxy a client can choose it; the per-account limit still holds.
 */
export function clientAddress(headers: Record<string, unknown> | Headers | undefined): string {
  const raw = headers instanceof Headers ? headers.get("x-forwarded-for") : headers?.["x-forwarded-for"];
  const last = String(raw ?? "").split(",").pop()?.trim();
  return last || "unknown";
}

export async function signIn(
  { db }: Pick<Services, "db">,
  credentials: { email: string; password: string; address: string },
): Promise<SignInResult> {
  const email = credentials.email.trim().toLowerCase();
  const keys = [
    { key: `account:${email}`, limit: SIGN_IN_LIMITS.account },
    { key: `address:${credentials.address}`, limit: SIGN_IN_LIMITS.address },
  ];
  const window = sql`now() - make_interval(mins => ${SIGN_IN_LIMITS.windowMinutes})`;

  for (const { key, limit } of keys) {
    const [row] = await db
      .select({ minutesLeft: sql<number>`ceil(extract(epoch from ${signInFailures.windowStart} - ${window}) / 60)::int` })
      .from(signInFailures)
      .where(sql`${signInFailures.key} = ${key} and ${signInFailures.failures} >= ${limit} and ${signInFailures.windowStart} > ${window}`);
    if (row) return { ok: false, reason: "rate-limited", retryAfterMinutes: Math.max(1, row.minutesLeft) };
  }

  const user = email ? await db.query.users.findFirst({ where: eq(users.email, email) }) : undefined;
  const valid = user && !user.disabled ? await verifyPassword(credentials.password, user.passwordHash) : await verifyAgainstDummy(credentials.password);

  if (!valid || !user) {
    for (const { key } of keys) {
      await db
        .insert(signInFailures)
        .values({ key, failures: 1 })
        .onConflictDoUpdate({
          target: signInFailures.key,
          // A failure after the window ended starts a new window.
          set: {
            failures: sql`case when ${signInFailures.windowStart} > ${window} then ${signInFailures.failures} + 1 else 1 end`,
            windowStart: sql`case when ${signInFailures.windowStart} > ${window} then ${signInFailures.windowStart} else now() end`,
          },
        });
    }
    return { ok: false, reason: "wrong-credentials" };
  }

  await db.delete(signInFailures).where(eq(signInFailures.key, keys[0]!.key));
  if (needsRehash(user.passwordHash)) {
    await db.update(users).set({ passwordHash: await hashPassword(credentials.password) }).where(eq(users.id, user.id));
  }
  return { ok: true, user: { id: user.id, email: user.email, name: user.name, sessionVersion: user.sessionVersion } };
}
