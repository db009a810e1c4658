/**
 * Artifacts (checkpoints) as rows of CHUNK_BYTES pieces: written piece by piece in one transaction, read back
 * one piece per query, so a download streams and no process holds more than a piece of it at a time.
 */
import { transaction, type Sql } from "./client";

export const CHUNK_BYTES = 1 << 20;

export interface ArtifactInfo {
  id: number;
  runId: string;
  name: string;
  kind: string;
  size: number;
}

type Source = Uint8Array | AsyncIterable<Uint8Array>;

/** Re-cuts any sequence of byte arrays into pieces of exactly `size` bytes (the last may be shorter). */
async function* pieces(source: Source, size: number): AsyncGenerator<Buffer> {
  if (source instanceof Uint8Array) {
    for (let at = 0; at < source.byteLength; at += size) {
      const end = Math.min(at + size, source.byteLength);
      yield Buffer.from(source.buffer, source.byteOffset + at, end - at);
    }
    return;
  }
  let held: Buffer[] = [];
  let heldBytes = 0;
  for await (const part of source) {
    let buf = Buffer.from(part.buffer, part.byteOffset, part.byteLength);
    while (heldBytes + buf.length >= size) {
      const take = size - heldBytes;
      yield Buffer.concat([...held, buf.subarray(0, take)]);
      buf = buf.subarray(take);
      held = [];
      heldBytes = 0;
    }
    if (buf.length) {
      held.push(Buffer.from(buf)); // a copy: the source may reuse its buffer
      heldBytes += buf.length;
    }
  }
  if (heldBytes) yield Buffer.concat(held);
}

/** Stores (or replaces) a run's artifact; readers see the old bytes or the new, never a mix. */
export async function saveArtifact(
  sql: Sql,
  artifact: { runId: string; name: string; kind: string; meta?: Record<string, unknown> },
  bytes: Source,
): Promise<ArtifactInfo> {
  return transaction(sql, async ({ sql: tx }) => {
    const [row] = await tx<{ id: number }[]>`
      insert into artifacts (run_id, name, kind, size, meta)
      values (${artifact.runId}, ${artifact.name}, ${artifact.kind}, 0, ${JSON.stringify(artifact.meta ?? {})}::jsonb)
      on conflict (run_id, name) do update set kind = excluded.kind, size = 0, meta = excluded.meta, created_at = now()
      returning id`;
    const id = Number(row!.id);
    await tx`delete from artifact_chunks where artifact_id = ${id}`;
    let seq = 0;
    let size = 0;
    for await (const piece of pieces(bytes, CHUNK_BYTES)) {
      await tx`insert into artifact_chunks (artifact_id, seq, bytes) values (${id}, ${seq++}, ${piece})`;
      size += piece.length;
    }
    await tx`update artifacts set size = ${size} where id = ${id}`;
    return { id, runId: artifact.runId, name: artifact.name, kind: artifact.kind, size };
  });
}

export async function findArtifact(sql: Sql, where: { id: number } | { runId: string; name: string }): Promise<ArtifactInfo | null> {
  const rows =
    "id" in where
      ? await sql<ArtifactInfo[]>`select id, run_id as "runId", name, kind, size from artifacts where id = ${where.id}`
      : await sql<ArtifactInfo[]>`
          select id, run_id as "runId", name, kind, size from artifacts where run_id = ${where.runId} and name = ${where.name}`;
  const row = rows[0];
  return row ? { ...row, id: Number(row.id) } : null;
}

/** The artifact's bytes, one piece per query, in order. */
export async function* readArtifactChunks(sql: Sql, id: number): AsyncGenerator<Buffer> {
  for (let seq = 0; ; seq++) {
    const [row] = await sql<{ bytes: Buffer }[]>`select bytes from artifact_chunks where artifact_id = ${id} and seq = ${seq}`;
    if (!row) return;
    yield row.bytes;
  }
}

/** The artifact's bytes as a web stream (for a download response): pulled piece by piece as the client reads. */
export function artifactStream(sql: Sql, id: number): ReadableStream<Uint8Array> {
  const chunks = readArtifactChunks(sql, id);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await chunks.next();
      if (next.done) controller.close();
      else controller.enqueue(new Uint8Array(next.value.buffer, next.value.byteOffset, next.value.byteLength));
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
}

/** The whole artifact in memory: for a worker that loads a checkpoint into a model. */
export async function loadArtifactBytes(sql: Sql, runId: string, name: string): Promise<Uint8Array | null> {
  const info = await findArtifact(sql, { runId, name });
  if (!info) return null;
  const out = new Uint8Array(info.size);
  let at = 0;
  for await (const piece of readArtifactChunks(sql, info.id)) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}
