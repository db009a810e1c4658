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
