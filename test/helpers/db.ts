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

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
