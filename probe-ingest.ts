import { createDb } from "./db/client";
import { migrateDatabase } from "./db/migrate";
import { DbRunLogger } from "./workers/db-logger";
(async () => {
  const admin = createDb("postgres://postgres@127.0.0.1:5432/postgres", { max: 1 });
  await admin.sql.unsafe("drop database if exists crackdiff_probe with (force)"); await admin.sql.unsafe("create database crackdiff_probe");
  const url = "postgres://postgres@127.0.0.1:5432/crackdiff_probe";
  await migrateDatabase(url);
  const { sql, close } = createDb(url, { max: 2 });
  const [run] = await sql`insert into runs (kind, name, config) values ('smoke','p','{}') returning id`;
  const t = performance.now(); const cpu = process.cpuUsage();
  const logger = new DbRunLogger(sql, run!.id, new AbortController().signal);
  const values: Record<string, number> = {};
  for (let step = 0; step < 50000; step++) { for (let k = 0; k < 4; k++) values[`bench/metric_${k}`] = Math.sin(step * 0.001 + k); await logger.metrics(step, values); }
  await logger.close();
  const wall = performance.now() - t; const used = process.cpuUsage(cpu);
  console.log({ points: 200000, wall_ms: Math.round(wall), node_cpu_ms: Math.round((used.user + used.system) / 1000), rate: Math.round(200000 / wall * 1000) });
  await close(); await admin.sql.unsafe("drop database crackdiff_probe with (force)"); await admin.close();
})();
