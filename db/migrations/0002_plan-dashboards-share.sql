CREATE TYPE "public"."milestone_status" AS ENUM('planned', 'in-progress', 'done', 'blocked');--> statement-breakpoint
CREATE TABLE "dashboards" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"title" text NOT NULL,
	"body" text DEFAULT '' NOT NULL,
	"panels" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "milestone_runs" (
	"milestone_id" uuid NOT NULL,
	"run_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "milestone_runs_milestone_id_run_id_pk" PRIMARY KEY("milestone_id","run_id")
);
--> statement-breakpoint
DROP INDEX "milestones_week_idx";--> statement-breakpoint
ALTER TABLE "milestones" ADD COLUMN "tasks" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "milestones" ADD COLUMN "questions" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "milestones" ADD COLUMN "status" "milestone_status" DEFAULT 'planned' NOT NULL;--> statement-breakpoint
ALTER TABLE "milestones" ADD COLUMN "owner_id" uuid;--> statement-breakpoint
ALTER TABLE "milestones" ADD COLUMN "notes" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "milestones" ADD COLUMN "updated_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "share_links" DROP COLUMN "token";--> statement-breakpoint
ALTER TABLE "share_links" DROP COLUMN "title";--> statement-breakpoint
ALTER TABLE "share_links" DROP COLUMN "scope";--> statement-breakpoint
ALTER TABLE "share_links" ADD COLUMN "id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL;--> statement-breakpoint
ALTER TABLE "share_links" ADD COLUMN "token_hash" text NOT NULL;--> statement-breakpoint
ALTER TABLE "share_links" ADD COLUMN "dashboard_id" uuid NOT NULL;--> statement-breakpoint
ALTER TABLE "dashboards" ADD CONSTRAINT "dashboards_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "milestone_runs" ADD CONSTRAINT "milestone_runs_milestone_id_milestones_id_fk" FOREIGN KEY ("milestone_id") REFERENCES "public"."milestones"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "milestone_runs" ADD CONSTRAINT "milestone_runs_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "dashboards_updated_idx" ON "dashboards" USING btree ("updated_at" DESC NULLS LAST);--> statement-breakpoint
ALTER TABLE "milestones" ADD CONSTRAINT "milestones_owner_id_users_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "share_links" ADD CONSTRAINT "share_links_dashboard_id_dashboards_id_fk" FOREIGN KEY ("dashboard_id") REFERENCES "public"."dashboards"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "share_links_dashboard_idx" ON "share_links" USING btree ("dashboard_id");--> statement-breakpoint
ALTER TABLE "milestones" DROP COLUMN "description";--> statement-breakpoint
ALTER TABLE "milestones" DROP COLUMN "done_at";--> statement-breakpoint
ALTER TABLE "milestones" ADD CONSTRAINT "milestones_week_unique" UNIQUE("week");--> statement-breakpoint
ALTER TABLE "share_links" ADD CONSTRAINT "share_links_token_hash_unique" UNIQUE("token_hash");