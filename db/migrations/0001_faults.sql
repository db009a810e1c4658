ALTER TABLE "run_logs" ADD COLUMN "key" text;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "attempt" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "run_logs" ADD CONSTRAINT "run_logs_key_unique" UNIQUE("key");--> statement-breakpoint
-- The one table of valid run state changes, enforced for every writer (web server, workers, sweeps).
CREATE TABLE "run_transitions" (
	"from_status" "run_status" NOT NULL,
	"to_status" "run_status" NOT NULL,
	"why" text NOT NULL,
	PRIMARY KEY ("from_status", "to_status")
);
--> statement-breakpoint
INSERT INTO "run_transitions" ("from_status", "to_status", "why") VALUES
	('queued', 'running', 'a worker claims it'),
	('queued', 'killed', 'cancelled before it started'),
	('running', 'finished', 'its runner returned'),
	('running', 'failed', 'its runner threw'),
	('running', 'killed', 'cancelled'),
	('running', 'crashed', 'its worker went silent'),
	('running', 'queued', 'handed back to the queue'),
	('crashed', 'running', 'its own worker is heard again'),
	('crashed', 'finished', 'its own worker ends it after an outage'),
	('crashed', 'failed', 'its own worker ends it after an outage'),
	('crashed', 'killed', 'its own worker ends it after an outage'),
	('crashed', 'queued', 'resumed');
--> statement-breakpoint
CREATE FUNCTION "check_run_transition"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM "run_transitions" WHERE "from_status" = OLD."status" AND "to_status" = NEW."status") THEN
		RAISE EXCEPTION 'a run cannot go from % to %', OLD."status", NEW."status" USING ERRCODE = 'check_violation';
	END IF;
	RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER "runs_valid_transition" BEFORE UPDATE OF "status" ON "runs"
	FOR EACH ROW WHEN (OLD."status" IS DISTINCT FROM NEW."status") EXECUTE FUNCTION "check_run_transition"();
