/** Artifacts in chunked rows: a checkpoint written piece by piece comes back byte for byte through the download stream. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { artifactStream, CHUNK_BYTES, findArtifact, loadArtifactBytes, saveArtifact } from "../../db/artifacts";
import { createDb, type Sql } from "../../db/client";
import { createTestDatabase, type TestDatabase } from "../helpers/db";

let database: TestDatabase;
let sql: Sql;
let close: () => Promise<void>;
let runId: string;

before(async () => {
  database = await createTestDatabase();
  ({ sql, close } = createDb(database.url));
  const [row] = await sql<{ id: string }[]>`insert into runs (kind, name, config) values ('ddpm-train', 'ckpt', '{}') returning id`;
  runId = row!.id;
});
after(async () => {
  await close?.();
  await database?.drop();
});

/** The bytes in parts of uneven sizes, as a file or network stream would deliver them. */
async function* unevenParts(bytes: Buffer): AsyncGenerator<Uint8Array> {
  const sizes = [1, 7919, 65_536, CHUNK_BYTES - 3, 3, 2 * CHUNK_BYTES + 17];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const end = Math.min(bytes.length, at + sizes[i % sizes.length]!);
    yield new Uint8Array(bytes.subarray(at, end));
    at = end;
  }
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<{ bytes: Buffer; largestRead: number }> {
  const parts: Uint8Array[] = [];
  let largestRead = 0;
  const reader = stream.getReader();
  for (let part = await reader.read(); !part.done; part = await reader.read()) {
    parts.push(part.value);
    largestRead = Math.max(largestRead, part.value.byteLength);
  }
  return { bytes: Buffer.concat(parts), largestRead };
}

test("a checkpoint round-trips byte for byte through the chunked, streaming path", { timeout: 120_000 }, async () => {
  const original = randomBytes(5 * CHUNK_BYTES + 12_345);
  const saved = await saveArtifact(sql, { runId, name: "checkpoint", kind: "checkpoint", meta: { step: 30 } }, unevenParts(original));
  assert.equal(saved.size, original.length);

  const chunks = await sql<{ seq: number; n: number }[]>`
    select seq, length(bytes)::int as n from artifact_chunks where artifact_id = ${saved.id} order by seq`;
  assert.equal(chunks.length, Math.ceil(original.length / CHUNK_BYTES));
  assert.ok(chunks.every((c, i) => c.seq === i && c.n <= CHUNK_BYTES), "pieces in order, none larger than a chunk");

  const { bytes, largestRead } = await readAll(artifactStream(sql, saved.id));
  assert.ok(bytes.equals(original), "the stream returns the same bytes");
  assert.ok(largestRead <= CHUNK_BYTES, "the stream never holds more than a chunk");
  assert.ok(Buffer.from((await loadArtifactBytes(sql, runId, "checkpoint"))!).equals(original));
  assert.deepEqual(await findArtifact(sql, { runId, name: "checkpoint" }), { id: saved.id, runId, name: "checkpoint", kind: "checkpoint", size: original.length });

  // Saving again replaces it whole: no piece of the larger old one is left behind.
  const smaller = randomBytes(CHUNK_BYTES + 1);
  const again = await saveArtifact(sql, { runId, name: "checkpoint", kind: "checkpoint" }, smaller);
  assert.equal(again.id, saved.id);
  assert.ok((await readAll(artifactStream(sql, again.id))).bytes.equals(smaller));
  const [left] = await sql<{ n: number }[]>`select count(*)::int as n from artifact_chunks where artifact_id = ${saved.id}`;
  assert.equal(left!.n, 2);

  // An empty artifact is stored and read back empty.
  const empty = await saveArtifact(sql, { runId, name: "empty", kind: "file" }, new Uint8Array(0));
  assert.equal((await readAll(artifactStream(sql, empty.id))).bytes.length, 0);
});
