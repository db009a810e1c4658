/** The web process's connections, created on first use and kept across hot reloads. */
import type PgBoss from "pg-boss";
import { createDb, type Database, type Sql } from "../db/client";
import { createBoss } from "../db/queue";
import { env } from "./env";

export interface Services {
  db: Database;
  sql: Sql;
  /** Used only to send (inside our own transactions); never started in the web process. */
  boss: PgBoss;
}

const holder = globalThis as { crackdiffServices?: Services };

export function services(): Services {
  if (!holder.crackdiffServices) {
    const { DATABASE_URL } = env();
    const { db, sql } = createDb(DATABASE_URL);
    holder.crackdiffServices = { db, sql, boss: createBoss(DATABASE_URL) };
  }
  return holder.crackdiffServices;
}
