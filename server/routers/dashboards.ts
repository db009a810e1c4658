/** Dashboards: saved arrangements of panels with Markdown text. Everyone signed in reads; members edit. */
import { TRPCError } from "@trpc/server";
import { desc, eq } from "drizzle-orm";
import { z } from "zod";
import { dashboards, users } from "../../db/schema";
import { checkPanels, dashboardInput, loadDashboard, parsePanels } from "../dashboards";
import { dashboardReport } from "../report";
import { memberProcedure, protectedProcedure, router } from "../trpc";

const byId = z.object({ id: z.string().uuid() });

export const dashboardsRouter = router({
  list: protectedProcedure.query(async ({ ctx }) => {
    const rows = await ctx.db
      .select({ id: dashboards.id, title: dashboards.title, panels: dashboards.panels, updatedAt: dashboards.updatedAt, createdBy: users.name })
      .from(dashboards)
      .leftJoin(users, eq(users.id, dashboards.createdBy))
      .orderBy(desc(dashboards.updatedAt));
    return rows.map(({ panels, ...d }) => ({ ...d, panelCount: parsePanels(panels).length }));
  }),

  get: protectedProcedure.input(byId).query(({ ctx, input }) => loadDashboard(ctx, input.id)),

  create: memberProcedure.input(dashboardInput).mutation(async ({ ctx, input }) => {
    await checkPanels(ctx.db, input.panels);
    const [row] = await ctx.db.insert(dashboards).values({ ...input, createdBy: ctx.user.id }).returning({ id: dashboards.id });
    return row!;
  }),

  update: memberProcedure.input(dashboardInput.extend({ id: z.string().uuid() })).mutation(async ({ ctx, input }) => {
    const { id, ...values } = input;
    await checkPanels(ctx.db, values.panels);
    const [row] = await ctx.db.update(dashboards).set({ ...values, updatedAt: new Date() }).where(eq(dashboards.id, id)).returning({ id: dashboards.id });
    if (!row) throw new TRPCError({ code: "NOT_FOUND", message: "no such dashboard" });
    return row;
  }),

  /** Deleting a dashboard also ends its share links. */
  delete: memberProcedure.input(byId).mutation(async ({ ctx, input }) => {
    const [row] = await ctx.db.delete(dashboards).where(eq(dashboards.id, input.id)).returning({ id: dashboards.id });
    if (!row) throw new TRPCError({ code: "NOT_FOUND", message: "no such dashboard" });
    return row;
  }),

  /** The report: a self-contained HTML file and its Markdown. */
  report: protectedProcedure.input(byId).query(async ({ ctx, input }) => dashboardReport(ctx.db, await loadDashboard(ctx, input.id))),
});
