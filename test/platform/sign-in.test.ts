/**
 * Accounts and sessions against a real Postgres: sign-in rate limits (per account, per address, shared through
 * the database), the same scrypt work whether or not the account exists, old hashes upgraded on sign-in,
 * sessions that end when an account is disabled, hashed and revocable invitations, the set-up token, and what
 * workers are not given.
 */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { after, before, describe, test } from "node:test";
import { eq, sql } from "drizzle-orm";
import { createDb } from "../../db/client";
import { createBoss } from "../../db/queue";
import { invites, signInFailures, users } from "../../db/schema";
import { hashPassword, needsRehash, SCRYPT_PARAMS, verifyPassword } from "../../server/auth/password";
import { signIn, SIGN_IN_LIMITS } from "../../server/auth/sign-in";
import { hashToken } from "../../server/auth/tokens";
import { contextFromCookies } from "../../server/request";
import { appRouter } from "../../server/routers";
import { services } from "../../server/services";
import { createCallerFactory, createContextInner } from "../../server/trpc";
import { workerEnvironment } from "../../server/worker-env";
import { createTestDatabase } from "../helpers/db";
import { PASSWORD, SETUP_TOKEN, sessionCookie, startLab, type Lab } from "../helpers/lab";

let lab: Lab;

before(async () => {
  lab = await startLab("crackdiff_signin");
});

after(async () => {
  await lab?.close();
});

/** Counts scrypt derivations (and their cost parameter) while `fn` runs. */
async function scryptCalls(fn: () => Promise<unknown>): Promise<number[]> {
  const original = crypto.scrypt;
  const seen: number[] = [];
  (crypto as { scrypt: unknown }).scrypt = (...args: unknown[]) => {
    seen.push((args[3] as { N: number }).N);
    return (original as (...a: unknown[]) => void)(...args);
  };
  try {
    await fn();
  } finally {
    (crypto as { scrypt: unknown }).scrypt = original;
  }
  return seen;
}

describe("sign-in", () => {
  test("a right password signs in; unknown, disabled and known accounts cost the same scrypt work", async () => {
    const db = services();
    let result: Awaited<ReturnType<typeof signIn>> | undefined;
    const known = await scryptCalls(async () => (result = await signIn(db, { email: "Member@Lab.test", password: PASSWORD, address: "10.0.0.1" })));
    assert.equal(result?.ok, true);
    const wrong = await scryptCalls(() => signIn(db, { email: "member@lab.test", password: "not it at all", address: "10.0.0.1" }));
    const unknown = await scryptCalls(() => signIn(db, { email: "nobody@lab.test", password: PASSWORD, address: "10.0.0.1" }));
    let disabled: Awaited<ReturnType<typeof signIn>> | undefined;
    const disabledWork = await scryptCalls(async () => (disabled = await signIn(db, { email: "disabled@lab.test", password: PASSWORD, address: "10.0.0.1" })));
    assert.deepEqual(disabled, { ok: false, reason: "wrong-credentials" }, "a disabled account cannot sign in, even with its password");
    // The dummy hash is made once (on the first unknown email), then each attempt is one derivation at today's cost.
    for (const calls of [known, wrong, unknown.slice(-1), disabledWork]) assert.deepEqual(calls, [SCRYPT_PARAMS.N]);
  });

  test("an account is locked for the window after too many failures, from any address; others are not", async () => {
    const db = services();
    const email = "viewer@lab.test";
    for (let i = 0; i < SIGN_IN_LIMITS.account; i++) {
      const r = await signIn(db, { email, password: `wrong guess ${i}`, address: `10.1.0.${i}` });
      assert.deepEqual(r, { ok: false, reason: "wrong-credentials" });
    }
    const locked = await signIn(db, { email, password: PASSWORD, address: "10.9.9.9" });
    assert.equal(locked.ok, false);
    assert.equal(!locked.ok && locked.reason, "rate-limited");
    assert.ok(!locked.ok && locked.reason === "rate-limited" && locked.retryAfterMinutes >= 1 && locked.retryAfterMinutes <= SIGN_IN_LIMITS.windowMinutes);
    assert.equal((await signIn(db, { email: "admin@lab.test", password: PASSWORD, address: "10.9.9.9" })).ok, true);

    // The count lives in Postgres: another connection pool (another web process) sees the same lock.
    const other = createDb(process.env.DATABASE_URL!, { max: 1 });
    try {
      const again = await signIn({ db: other.db }, { email, password: PASSWORD, address: "10.9.9.8" });
      assert.equal(!again.ok && again.reason, "rate-limited");
    } finally {
      await other.close();
    }

    // Once the window has passed, the right password works again and clears the count.
    await db.db.update(signInFailures).set({ windowStart: sql`now() - interval '16 minutes'` }).where(eq(signInFailures.key, `account:${email}`));
    assert.equal((await signIn(db, { email, password: PASSWORD, address: "10.9.9.9" })).ok, true);
    assert.equal((await db.db.select().from(signInFailures).where(eq(signInFailures.key, `account:${email}`))).length, 0);
  });

  test("an address is limited across accounts", async () => {
    const db = services();
    const address = "192.0.2.7";
    // The failures before the last one, as many attempts from this address would have left them.
    await db.db.insert(signInFailures).values({ key: `address:${address}`, failures: SIGN_IN_LIMITS.address - 1 });
    assert.equal((await signIn(db, { email: "someone@lab.test", password: "guess", address })).ok, false);
    const limited = await signIn(db, { email: "member@lab.test", password: PASSWORD, address });
    assert.equal(!limited.ok && limited.reason, "rate-limited");
    assert.equal((await signIn(db, { email: "member@lab.test", password: PASSWORD, address: "192.0.2.8" })).ok, true);
  });

  test("a hash made with weaker parameters still verifies and is upgraded at sign-in", async () => {
    const db = services();
    const old = await hashPassword("an older password", { N: 1 << 14, r: 8, p: 1 });
    assert.ok(needsRehash(old));
    assert.ok(await verifyPassword("an older password", old));
    const [row] = await db.db.insert(users).values({ email: "old@lab.test", name: "Old", role: "viewer", passwordHash: old }).returning();
    assert.equal((await signIn(db, { email: "old@lab.test", password: "an older password", address: "10.2.0.1" })).ok, true);
    const upgraded = (await db.db.query.users.findFirst({ where: eq(users.id, row!.id) }))!.passwordHash;
    assert.notEqual(upgraded, old);
    assert.ok(upgraded.startsWith(`scrypt$${SCRYPT_PARAMS.N}$8$1$`));
    assert.ok(!needsRehash(upgraded));
    assert.ok(await verifyPassword("an older password", upgraded));
    assert.equal(await verifyPassword("an older password", "scrypt$1073741824$8$1$c2FsdA==$aGFzaA=="), false, "absurd parameters are refused, not computed");
  });
});

describe("sessions", () => {
  test("disabling an account ends its sessions at once, and enabling it again does not revive them", async () => {
    const admin = await lab.caller("admin");
    const created = await admin.users.create({ email: "leaver@lab.test", name: "Leaver", role: "member", password: "a long password" });
    const oldCookie = await sessionCookie(created.id, 0);
    assert.equal((await contextFromCookies(oldCookie)).user?.id, created.id);
    await admin.users.update({ id: created.id, disabled: true });
    assert.equal((await contextFromCookies(oldCookie)).user, null);
    await admin.users.update({ id: created.id, disabled: false });
    assert.equal((await contextFromCookies(oldCookie)).user, null, "the session issued before disabling stays ended");
    const signedIn = await signIn(services(), { email: "leaver@lab.test", password: "a long password", address: "10.3.0.1" });
    assert.ok(signedIn.ok);
    assert.equal((await contextFromCookies(await sessionCookie(created.id, signedIn.user.sessionVersion))).user?.id, created.id);
  });

  test("an expired or foreign cookie is no session", async () => {
    assert.equal((await contextFromCookies(await sessionCookie(lab.ids.admin, 0, -60))).user, null);
    assert.equal((await contextFromCookies("next-auth.session-token=not-a-token")).user, null);
    assert.equal((await contextFromCookies(null)).user, null);
  });
});

describe("invitations", () => {
  test("stored only as a hash; listed with their state; a revoked link stops working", async () => {
    const admin = await lab.caller("admin");
    const anon = await lab.caller(null);
    const sent = await admin.users.invite({ email: "guest1@lab.test", role: "viewer" });
    const kept = await admin.users.invite({ email: "guest2@lab.test", role: "member" });

    const rows = await services().db.select().from(invites);
    assert.ok(rows.every((r) => !JSON.stringify(r).includes(sent.token) && !JSON.stringify(r).includes(kept.token)), "no token is stored");
    assert.ok(rows.some((r) => r.tokenHash === hashToken(sent.token)));

    const listed = await admin.users.invites();
    assert.deepEqual(
      listed.filter((i) => i.email.startsWith("guest")).map((i) => [i.email, i.role, i.invitedBy, i.usedAt, i.revokedAt]),
      [
        ["guest2@lab.test", "member", "admin", null, null],
        ["guest1@lab.test", "viewer", "admin", null, null],
      ],
    );

    assert.equal((await admin.users.revokeInvite({ id: sent.id })).id, sent.id);
    await assert.rejects(anon.auth.invite({ token: sent.token }), { code: "NOT_FOUND" });
    await assert.rejects(anon.auth.acceptInvite({ token: sent.token, name: "G", password: "0123456789" }), { code: "NOT_FOUND" });
    await assert.rejects(admin.users.revokeInvite({ id: sent.id }), { code: "NOT_FOUND" });

    await anon.auth.acceptInvite({ token: kept.token, name: "Guest", password: "0123456789" });
    await assert.rejects(admin.users.revokeInvite({ id: kept.id }), { code: "NOT_FOUND" }, "an accepted invitation cannot be revoked");
    const after = await admin.users.invites();
    assert.ok(after.find((i) => i.id === sent.id)?.revokedAt);
    assert.ok(after.find((i) => i.id === kept.id)?.usedAt);
  });
});

describe("first-visitor set-up", () => {
  test("only the printed token creates the first admin, once", async () => {
    const database = await createTestDatabase("crackdiff_setup");
    const { db, sql: client, close } = createDb(database.url);
    try {
      const boss = createBoss(database.url);
      const anon = createCallerFactory(appRouter)(await createContextInner({ services: { db, sql: client, boss }, userId: null }));
      assert.deepEqual(await anon.auth.status(), { setupNeeded: true });
      const account = { email: "first@lab.test", name: "First", password: "0123456789" };

      await assert.rejects(anon.auth.setup({ ...account, token: "a guess" }), { code: "FORBIDDEN", message: /npm start/ });
      const configured = process.env.CRACKDIFF_SETUP_TOKEN;
      delete process.env.CRACKDIFF_SETUP_TOKEN;
      await assert.rejects(anon.auth.setup({ ...account, token: SETUP_TOKEN }), { code: "FORBIDDEN" }, "no token configured: set-up stays closed");
      process.env.CRACKDIFF_SETUP_TOKEN = configured;
      assert.deepEqual(await anon.auth.status(), { setupNeeded: true }, "refused attempts created nothing");

      const admin = await anon.auth.setup({ ...account, token: SETUP_TOKEN });
      assert.equal(admin.email, "first@lab.test");
      assert.equal((await db.query.users.findFirst({ where: eq(users.id, admin.id) }))?.role, "admin");
      await assert.rejects(anon.auth.setup({ ...account, email: "second@lab.test", token: SETUP_TOKEN }), { code: "CONFLICT" });
    } finally {
      await close();
      await database.drop();
    }
  });
});

describe("workers", () => {
  test("get the database but none of the web server's secrets", () => {
    const env = workerEnvironment(
      { NODE_ENV: "test", DATABASE_URL: "postgres://x", NEXTAUTH_SECRET: "s", AUTH_SECRET: "s", CRACKDIFF_SETUP_TOKEN: "t", PATH: "/bin", CRACKDIFF_THREADS: "3" },
      2,
    );
    assert.equal(env.DATABASE_URL, "postgres://x");
    assert.equal(env.PATH, "/bin");
    assert.equal(env.CRACKDIFF_THREADS, "3");
    for (const secret of ["NEXTAUTH_SECRET", "AUTH_SECRET", "CRACKDIFF_SETUP_TOKEN"]) assert.ok(!(secret in env), `${secret} reaches workers`);
  });
});
