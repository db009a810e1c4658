/**
 * View-only share links to dashboards. Members create, list and revoke them; `view` is public: the token is
 * the credential, and it opens exactly one dashboard's loaded panels, nothing else.
 */
import { TRPCError } from "@trpc/server";
import { and, desc, eq, isNull } from "drizzle-orm";
import { z } from "zod";
import { dashboards, shareLinks, users } from "../../db/schema";
import { loadDashboard } from "../dashboards";
import { newShareToken, openShareLink } from "../share";
import { memberProcedure, publicProcedure, router } from "../trpc";

const DAY_MS = 24 * 60 * 60 * 1000;

export const shareRouter = router({
  /** The token is returned only here, once; the database keeps its hash. */
  create: memberProcedure
    .input(z.object({ dashboardId: z.string().uuid(), expiresInDays: z.number().int().min(1).max(365).nullable().default(null) }))
    .mutation(async ({ ctx, input }) => {
      const dashboard = await ctx.db.query.dashboards.findFirst({ where: eq(dashboards.id, input.dashboardId), columns: { id: true } });
      if (!dashboard) throw new TRPCError({ code: "NOT_FOUND", message: "no such dashboard" });
      const { token, tokenHash } = newShareToken();
      const expiresAt = input.expiresInDays ? new Date(Date.now() + input.expiresInDays * DAY_MS) : null;
      const [link] = await ctx.db
        .insert(shareLinks)
        .values({ tokenHash, dashboardId: input.dashboardId, createdBy: ctx.user.id, expiresAt })
        .returning({ id: shareLinks.id, expiresAt: shareLinks.expiresAt });
      return { ...link!, token };
    }),

  list: memberProcedure.input(z.object({ dashboardId: z.string().uuid() })).query(async ({ ctx, input }) => {
    const rows = await ctx.db
      .select({
        id: shareLinks.id,
        createdAt: shareLinks.createdAt,
        expiresAt: shareLinks.expiresAt,
        revokedAt: shareLinks.revokedAt,
        createdBy: users.name,
      })
      .from(shareLinks)
      .leftJoin(users, eq(users.id, shareLinks.createdBy))
      .where(eq(shareLinks.dashboardId, input.dashboardId))
      .orderBy(desc(shareLinks.createdAt));
    const now = new Date();
    return rows.map((r) => ({ ...r, state: r.revokedAt ? "revoked" : r.expiresAt && r.expiresAt <= now ? "expired" : "active" }) as const);
  }),

  revoke: memberProcedure.input(z.object({ id: z.string().uuid() })).mutation(async ({ ctx, input }) => {
    const [row] = await ctx.db
      .update(shareLinks)
      .set({ revokedAt: new Date() })
      .where(and(eq(shareLinks.id, input.id), isNull(shareLinks.revokedAt)))
      .returning({ id: shareLinks.id, revokedAt: shareLinks.revokedAt });
    if (row) return row;
    const link = await ctx.db.query.shareLinks.findFirst({ where: eq(shareLinks.id, input.id), columns: { revokedAt: true } });
    if (!link) throw new TRPCError({ code: "NOT_FOUND", message: "no such share link" });
    return { id: input.id, revokedAt: link.revokedAt };
  }),

  /** What a share link shows: its dashboard's loaded panels. No account needed. */
  view: publicProcedure.input(z.object({ token: z.string().max(200) })).query(async ({ ctx, input }) => {
    const { dashboardId, expiresAt } = await openShareLink(ctx.db, input.token);
    return { dashboard: await loadDashboard(ctx, dashboardId), expiresAt };
  }),
});
