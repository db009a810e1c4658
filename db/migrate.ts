/**
 * Applies the committed Drizzle migrations, seeds the research plan and sets up pg-boss's schema.
 * Idempotent; safe from many processes.
 */
import { migrate } from "drizzle-orm/postgres-js/migrator";
import path from "node:path";
import { createDb } from "./client";
import { seedResearchPlan } from "./plan";
import { setupQueue } from "./queue";

const MIGRATION_LOCK = 0x63726b64; // "crkd": one migrator at a time across processes

export async function migrateDatabase(url: string): Promise<void> {
  const { sql, db, close } = createDb(url, { max: 1 });
  try {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK})`;
    await migrate(db, { migrationsFolder: path.join(__dirname, "migrations") });
    await seedResearchPlan(db);
    await setupQueue(url);
    await sql`select pg_advisory_unlock(${MIGRATION_LOCK})`;
  } finally {
    await close();
  }
}
