/** A throwaway, migrated database per test file, on the server in DATABASE_URL. */
import { randomBytes } from "node:crypto";
import { createDb } from "../../db/client";
import { migrateDatabase } from "../../db/migrate";

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export function adminUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is not set; run the tests with `npm test`");
  return url;
}

export async function createTestDatabase(prefix = "crackdiff_test"): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(4).toString("hex")}`;
  const admin = createDb(adminUrl(), { max: 1 });
  await admin.sql.unsafe(`create database ${name}`);
  await admin.close();
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  await migrateDatabase(url.toString());
  return {
    url: url.toString(),
    async drop() {
      const a = createDb(adminUrl(), { max: 1 });
      await a.sql.unsafe(`drop database if exists ${name} with (force)`);
      await a.close();
    },
  };
}

type NotYet = undefined | null | false | "";

/**
 * Polls `check` until it returns something truthy (a thrown error counts as "not yet"), or fails after
 * `timeoutMs` naming `what` and the last value or error seen.
 */
export async function eventually<T>(check: () => Promise<T | NotYet>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const seen = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what} (last: ${seen})`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
