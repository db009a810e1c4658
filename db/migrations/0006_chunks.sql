-- Series get an integer id: points and rollups are keyed by it instead of (run, key).
ALTER TABLE "metric_series" DROP CONSTRAINT "metric_series_run_id_key_pk";--> statement-breakpoint
ALTER TABLE "metric_series" ADD COLUMN "id" integer PRIMARY KEY NOT NULL GENERATED ALWAYS AS IDENTITY (sequence name "metric_series_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1);--> statement-breakpoint
CREATE UNIQUE INDEX "metric_series_run_key_idx" ON "metric_series" USING btree ("run_id","key");--> statement-breakpoint
CREATE TABLE "metric_chunks" (
	"series_id" integer NOT NULL,
	"first_step" integer NOT NULL,
	"last_step" integer NOT NULL,
	"steps" integer[] NOT NULL,
	"vals" double precision[] NOT NULL,
	"wall_time" timestamp with time zone NOT NULL,
	"wall_ms" integer[] NOT NULL,
	CONSTRAINT "metric_chunks_series_id_first_step_pk" PRIMARY KEY("series_id","first_step")
);
--> statement-breakpoint
-- A chunk (at most 128 points, about 2 KB) stays whole in its heap row: no compression attempt (numbers barely
-- compress) and no move to the TOAST table, either of which would cost more than the insert itself.
ALTER TABLE "metric_chunks" SET (toast_tuple_target = 8160);--> statement-breakpoint
ALTER TABLE "metric_chunks" ALTER COLUMN "steps" SET STORAGE EXTERNAL;--> statement-breakpoint
ALTER TABLE "metric_chunks" ALTER COLUMN "vals" SET STORAGE EXTERNAL;--> statement-breakpoint
ALTER TABLE "metric_chunks" ALTER COLUMN "wall_ms" SET STORAGE EXTERNAL;--> statement-breakpoint
-- The points already stored, one chunk per series and block of 128 steps (CHUNK_STEPS in db/metrics.ts).
INSERT INTO "metric_chunks" ("series_id", "first_step", "last_step", "steps", "vals", "wall_time", "wall_ms")
SELECT "series_id", min("step"), max("step"), array_agg("step" ORDER BY "step"), array_agg("value" ORDER BY "step"), "base",
  array_agg(round(extract(epoch FROM "wall_time" - "base") * 1000)::int ORDER BY "step")
FROM (
  SELECT s."id" AS "series_id", m."step", m."value", m."wall_time", m."step" & -128 AS "block",
    min(m."wall_time") OVER (PARTITION BY s."id", m."step" & -128) AS "base"
  FROM "metrics" m JOIN "metric_series" s ON s."run_id" = m."run_id" AND s."key" = m."key"
) p
GROUP BY "series_id", "block", "base";--> statement-breakpoint
ALTER TABLE "metric_rollups" ADD COLUMN "series_id" integer;--> statement-breakpoint
UPDATE "metric_rollups" r SET "series_id" = s."id" FROM "metric_series" s WHERE s."run_id" = r."run_id" AND s."key" = r."key";--> statement-breakpoint
DELETE FROM "metric_rollups" WHERE "series_id" IS NULL;--> statement-breakpoint
ALTER TABLE "metric_rollups" ALTER COLUMN "series_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "metric_rollups" DROP CONSTRAINT "metric_rollups_run_id_key_level_bucket_pk";--> statement-breakpoint
ALTER TABLE "metric_rollups" DROP COLUMN "run_id";--> statement-breakpoint
ALTER TABLE "metric_rollups" DROP COLUMN "key";--> statement-breakpoint
ALTER TABLE "metric_rollups" ADD CONSTRAINT "metric_rollups_series_id_level_bucket_pk" PRIMARY KEY("series_id","level","bucket");--> statement-breakpoint
DROP TRIGGER "runs_delete_metrics" ON "runs";--> statement-breakpoint
DROP FUNCTION "delete_run_metrics"();--> statement-breakpoint
DROP TABLE "metrics";--> statement-breakpoint
-- One row per point, for readers that want them so (db/schema.ts).
CREATE VIEW "metrics" AS
SELECT s."run_id", s."key", p."step", p."value", c."wall_time" + p."ms" * interval '1 millisecond' AS "wall_time"
FROM "metric_series" s
JOIN "metric_chunks" c ON c."series_id" = s."id"
CROSS JOIN LATERAL unnest(c."steps", c."vals", c."wall_ms") AS p("step", "value", "ms");--> statement-breakpoint
-- A series' chunks and rollups go with it (they have no foreign key: see db/schema.ts), and so with its run.
CREATE FUNCTION "delete_series_points"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "metric_chunks" WHERE "series_id" = OLD."id";
  DELETE FROM "metric_rollups" WHERE "series_id" = OLD."id";
  RETURN OLD;
END $$;--> statement-breakpoint
CREATE TRIGGER "metric_series_delete_points" AFTER DELETE ON "metric_series" FOR EACH ROW EXECUTE FUNCTION "delete_series_points"();
