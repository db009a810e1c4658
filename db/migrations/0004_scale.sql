CREATE TABLE "artifact_chunks" (
	"artifact_id" bigint NOT NULL,
	"seq" integer NOT NULL,
	"bytes" "bytea" NOT NULL,
	CONSTRAINT "artifact_chunks_artifact_id_seq_pk" PRIMARY KEY("artifact_id","seq")
);
--> statement-breakpoint
CREATE TABLE "metric_rollups" (
	"run_id" uuid NOT NULL,
	"key" text COLLATE "C" NOT NULL,
	"level" smallint NOT NULL,
	"bucket" integer NOT NULL,
	"min" double precision NOT NULL,
	"max" double precision NOT NULL,
	"sum" double precision NOT NULL,
	"count" integer NOT NULL,
	"last_wall_time" timestamp with time zone NOT NULL,
	CONSTRAINT "metric_rollups_run_id_key_level_bucket_pk" PRIMARY KEY("run_id","key","level","bucket")
);
--> statement-breakpoint
CREATE TABLE "metric_series" (
	"run_id" uuid NOT NULL,
	"key" text COLLATE "C" NOT NULL,
	"count" integer NOT NULL,
	"first_step" integer NOT NULL,
	"last_step" integer NOT NULL,
	CONSTRAINT "metric_series_run_id_key_pk" PRIMARY KEY("run_id","key")
);
--> statement-breakpoint
ALTER TABLE "metrics" DROP CONSTRAINT "metrics_run_id_runs_id_fk";--> statement-breakpoint
-- Keys compare byte by byte: the primary keys' inserts skip the locale's collation (a fifth faster).
ALTER TABLE "metrics" ALTER COLUMN "key" TYPE text COLLATE "C";
--> statement-breakpoint
DROP INDEX "runs_created_idx";--> statement-breakpoint
DROP INDEX "runs_parent_idx";--> statement-breakpoint
DROP INDEX "runs_kind_idx";--> statement-breakpoint
ALTER TABLE "artifact_chunks" ADD CONSTRAINT "artifact_chunks_artifact_id_artifacts_id_fk" FOREIGN KEY ("artifact_id") REFERENCES "public"."artifacts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "metric_series" ADD CONSTRAINT "metric_series_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "runs_status_created_idx" ON "runs" USING btree ("status","created_at","id");--> statement-breakpoint
DROP INDEX "runs_sweep_idx";--> statement-breakpoint
CREATE INDEX "runs_sweep_idx" ON "runs" USING btree ("sweep_id","created_at","id");--> statement-breakpoint
CREATE INDEX "runs_created_idx" ON "runs" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "runs_parent_idx" ON "runs" USING btree ("parent_id","created_at","id");--> statement-breakpoint
CREATE INDEX "runs_kind_idx" ON "runs" USING btree ("kind","created_at","id");--> statement-breakpoint
-- Series and rollups of the points already stored (the same arithmetic as db/metrics.ts writePoints).
INSERT INTO "metric_series" ("run_id", "key", "count", "first_step", "last_step")
SELECT "run_id", "key", count(*), min("step"), max("step") FROM "metrics" GROUP BY "run_id", "key";--> statement-breakpoint
INSERT INTO "metric_rollups" ("run_id", "key", "level", "bucket", "min", "max", "sum", "count", "last_wall_time")
SELECT "run_id", "key", "level", "step" >> (2 + 2 * "level"), min("value"), max("value"), sum("value"), count(*), max("wall_time")
FROM "metrics", generate_series(1, 7) AS "level" GROUP BY 1, 2, 3, 4;--> statement-breakpoint
-- Existing artifacts move into 1 MiB chunks before their column goes.
INSERT INTO "artifact_chunks" ("artifact_id", "seq", "bytes")
SELECT "id", "piece", substring("bytes" from "piece" * 1048576 + 1 for 1048576)
FROM "artifacts", generate_series(0, greatest(0, (length("bytes") - 1) / 1048576)) AS "piece";--> statement-breakpoint
ALTER TABLE "artifacts" DROP COLUMN "bytes";--> statement-breakpoint
-- Checkpoints are float weights that do not compress: store chunks uncompressed instead of trying on each write.
ALTER TABLE "artifact_chunks" ALTER COLUMN "bytes" SET STORAGE EXTERNAL;--> statement-breakpoint
-- A run's points and rollups go with it (they have no foreign key: see db/schema.ts).
CREATE FUNCTION "delete_run_metrics"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "metrics" WHERE "run_id" = OLD."id";
  DELETE FROM "metric_rollups" WHERE "run_id" = OLD."id";
  RETURN OLD;
END $$;--> statement-breakpoint
CREATE TRIGGER "runs_delete_metrics" AFTER DELETE ON "runs" FOR EACH ROW EXECUTE FUNCTION "delete_run_metrics"();
