/** The Drizzle client over postgres.js. One pool per process. */
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as schema from "./schema";

export function createDb(url: string, opts: { max?: number } = {}) {
  const sql = postgres(url, {
    max: opts.max ?? 10,
    onnotice: () => {},
    // Reconnects are automatic; a restarted server costs the in-flight queries, not the pool.
    connect_timeout: 10,
  });
  const db = drizzle(sql, { schema });
  return { sql, db, close: () => sql.end({ timeout: 5 }) };
}

export type Database = ReturnType<typeof createDb>["db"];
export type Sql = ReturnType<typeof createDb>["sql"];

/**
 * Runs `fn` in one transaction, offering it both as Drizzle and as raw postgres.js (which the queue needs),
 * so a run row and its job commit or roll back together.
 */
export function transaction<T>(sql: Sql, fn: (tx: { db: Database; sql: Sql }) => Promise<T>): Promise<T> {
  return sql.begin((raw) => {
    // A TransactionSql is a Sql bound to one connection; Drizzle also reads the pool's parser options.
    const txSql = Object.assign(raw, { options: sql.options }) as unknown as Sql;
    return fn({ db: drizzle(txSql, { schema }), sql: txSql });
  }) as Promise<T>;
}

/**
 * Retries a write while the database is unreachable (a restart takes seconds), up to `patienceMs`;
 * other errors (constraint violations, bad SQL) are thrown at once.
 */
export async function retryWhileDown<T>(
  fn: () => Promise<T>,
  opts: { patienceMs?: number; onRetry?: (err: Error) => void } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.patienceMs ?? 60_000);
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isConnectionError(err) || Date.now() > deadline) throw err;
      opts.onRetry?.(err as Error);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** The database is unreachable or restarting (worth retrying), as opposed to a statement it refused. */
export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code ?? "";
  // Node socket errors, postgres.js's own, and the server's admin shutdown / cannot-connect classes (57P, 08).
  return (
    ["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "CONNECT_TIMEOUT"].includes(code) ||
    code.startsWith("57P") ||
    code.startsWith("08")
  );
}
