/** The research plan: its seven weeks, edited by members (status, owner, due date, notes) and linked to runs as evidence. */
import { TRPCError } from "@trpc/server";
import { and, asc, eq } from "drizzle-orm";
import { z } from "zod";
import { milestoneRuns, milestones, milestoneStatusEnum, runs, users } from "../../db/schema";
import { loadMilestones } from "../dashboards";
import { memberProcedure, protectedProcedure, router, type Context } from "../trpc";

const link = z.object({ milestoneId: z.string().uuid(), runId: z.string().uuid() });

async function requireMilestone(ctx: Context, id: string) {
  const found = await ctx.db.query.milestones.findFirst({ where: eq(milestones.id, id), columns: { id: true } });
  if (!found) throw new TRPCError({ code: "NOT_FOUND", message: "no such milestone" });
}

export const planRouter = router({
  /** Every week, in order, with its owner, linked runs and key figure columns. */
  list: protectedProcedure.query(({ ctx }) => loadMilestones(ctx.db)),

  /** The people a week can be assigned to. */
  owners: protectedProcedure.query(({ ctx }) =>
    ctx.db.select({ id: users.id, name: users.name }).from(users).where(eq(users.disabled, false)).orderBy(asc(users.name)),
  ),

  update: memberProcedure
    .input(
      z.object({
        id: z.string().uuid(),
        status: z.enum(milestoneStatusEnum.enumValues).optional(),
        ownerId: z.string().uuid().nullable().optional(),
        // Within what a Postgres timestamp (and an ISO date) can hold, so a typo is a field error, not a failure.
        dueDate: z
          .date()
          .min(new Date("1900-01-01T00:00:00Z"), "dueDate: give a date after 1900")
          .max(new Date("9999-12-31T00:00:00Z"), "dueDate: give a date before the year 10000")
          .nullable()
          .optional(),
        notes: z.string().max(20_000).optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const { id, ...changes } = input;
      if (changes.ownerId) {
        const owner = await ctx.db.query.users.findFirst({ where: and(eq(users.id, changes.ownerId), eq(users.disabled, false)) });
        if (!owner) throw new TRPCError({ code: "BAD_REQUEST", message: "ownerId: no such person" });
      }
      const [row] = await ctx.db.update(milestones).set({ ...changes, updatedAt: new Date() }).where(eq(milestones.id, id)).returning();
      if (!row) throw new TRPCError({ code: "NOT_FOUND", message: "no such milestone" });
      return row;
    }),

  linkRun: memberProcedure.input(link).mutation(async ({ ctx, input }) => {
    await requireMilestone(ctx, input.milestoneId);
    const run = await ctx.db.query.runs.findFirst({ where: eq(runs.id, input.runId), columns: { id: true } });
    if (!run) throw new TRPCError({ code: "BAD_REQUEST", message: "runId: no such run" });
    await ctx.db.insert(milestoneRuns).values(input).onConflictDoNothing();
    return { ok: true };
  }),

  unlinkRun: memberProcedure.input(link).mutation(async ({ ctx, input }) => {
    await requireMilestone(ctx, input.milestoneId);
    await ctx.db.delete(milestoneRuns).where(and(eq(milestoneRuns.milestoneId, input.milestoneId), eq(milestoneRuns.runId, input.runId)));
    return { ok: true };
  }),
});
