/**
 * The embedded PostgreSQL gets a generated password, kept in the data folder (owner-only), not a fixed one:
 * another local user who finds the port cannot log in with a guess.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { createDb } from "../../db/client";
import { startEmbeddedPostgres } from "../../db/embedded";

test("a generated password, kept across restarts; the old fixed one is refused, and replaced on servers that had it", { timeout: 180_000 }, async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "crackdiff-embedded-"));
  const passwordFile = path.join(dir, "postgres-password");
  try {
    const first = await startEmbeddedPostgres({ dataDir: path.join(dir, "postgres"), passwordFile, persistent: true });
    let port = "";
    try {
      const password = (await readFile(passwordFile, "utf8")).trim();
      assert.ok(password.length >= 24, "a long random password");
      assert.equal((await stat(passwordFile)).mode & 0o777, 0o600);
      const url = new URL(first.url);
      port = url.port;
      assert.equal(decodeURIComponent(url.password), password);

      const ok = createDb(first.url, { max: 1 });
      assert.deepEqual({ ...(await ok.sql`select 1 as one`)[0] }, { one: 1 });
      await ok.close();

      url.password = "crackdiff";
      const guess = createDb(url.toString(), { max: 1 });
      await assert.rejects(guess.sql`select 1`, /password authentication failed/);
      await guess.close();
    } finally {
      await first.stop();
    }

    const second = await startEmbeddedPostgres({ dataDir: path.join(dir, "postgres"), passwordFile, persistent: true, port: Number(port) });
    try {
      assert.equal(decodeURIComponent(new URL(second.url).password), (await readFile(passwordFile, "utf8")).trim());
      const again = createDb(second.url, { max: 1 });
      assert.deepEqual({ ...(await again.sql`select 1 as one`)[0] }, { one: 1 });
      // Make it a server from before generated passwords: the fixed one, and no password file.
      await again.sql`alter user postgres with password 'crackdiff'`;
      await again.close();
    } finally {
      await second.stop();
    }
    await rm(passwordFile);

    const legacy = await startEmbeddedPostgres({ dataDir: path.join(dir, "postgres"), passwordFile, persistent: true });
    try {
      const generated = (await readFile(passwordFile, "utf8")).trim();
      assert.notEqual(generated, "crackdiff");
      assert.equal(decodeURIComponent(new URL(legacy.url).password), generated);
      const now = createDb(legacy.url, { max: 1 });
      assert.deepEqual({ ...(await now.sql`select 1 as one`)[0] }, { one: 1 });
      await now.close();
      const url = new URL(legacy.url);
      url.password = "crackdiff";
      const old = createDb(url.toString(), { max: 1 });
      await assert.rejects(old.sql`select 1`, /password authentication failed/, "the fixed password was replaced");
      await old.close();
    } finally {
      await legacy.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
