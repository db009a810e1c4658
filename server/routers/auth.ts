/** Account set-up without a session: the first admin, and accepting an invitation. */
import { TRPCError } from "@trpc/server";
import { and, eq, gt, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import { invites, users } from "../../db/schema";
import { hashPassword } from "../auth/password";
import { hashToken, setupTokenValid } from "../auth/tokens";
import { publicProcedure, router } from "../trpc";

export const emailSchema = z.string().trim().toLowerCase().email("enter a valid email address");
export const passwordSchema = z.string().min(10, "the password needs at least 10 characters").max(200);
export const nameSchema = z.string().trim().min(1, "enter a name").max(80);
const tokenSchema = z.string().min(1, "the link has no token").max(200);

/** An invitation that can still be accepted: unused, not revoked, not expired. */
const openInvite = (token: string) =>
  and(eq(invites.tokenHash, hashToken(token)), isNull(invites.usedAt), isNull(invites.revokedAt), gt(invites.expiresAt, new Date()));

export const authRouter = router({
  /** True until the first account exists; the UI then shows the set-up page. */
  status: publicProcedure.query(async ({ ctx }) => {
    const [row] = await ctx.db.select({ n: sql<number>`count(*)::int` }).from(users);
    return { setupNeeded: (row?.n ?? 0) === 0 };
  }),

  /** Creates the first admin, with the token `npm start` printed. Refused once any account exists. */
  setup: publicProcedure
    .input(z.object({ token: tokenSchema, email: emailSchema, name: nameSchema, password: passwordSchema }))
    .mutation(async ({ ctx, input }) => {
      if (!setupTokenValid(input.token)) {
        throw new TRPCError({ code: "FORBIDDEN", message: "this set-up link is not valid: open the one `npm start` printed" });
      }
      const passwordHash = await hashPassword(input.password);
      return ctx.db.transaction(async (tx) => {
        // Serialise concurrent first visitors: only one becomes admin.
        await tx.execute(sql`lock table ${users} in exclusive mode`);
        const [row] = await tx.select({ n: sql<number>`count(*)::int` }).from(users);
        if ((row?.n ?? 0) > 0) throw new TRPCError({ code: "CONFLICT", message: "set-up is already done; sign in" });
        const [admin] = await tx
          .insert(users)
          .values({ email: input.email, name: input.name, role: "admin", passwordHash })
          .returning({ id: users.id, email: users.email });
        return admin!;
      });
    }),

  invite: publicProcedure.input(z.object({ token: tokenSchema })).query(async ({ ctx, input }) => {
    const invite = await ctx.db.query.invites.findFirst({ where: openInvite(input.token) });
    if (!invite) throw new TRPCError({ code: "NOT_FOUND", message: "this invitation is invalid, used or expired" });
    return { email: invite.email, role: invite.role };
  }),

  acceptInvite: publicProcedure
    .input(z.object({ token: tokenSchema, name: nameSchema, password: passwordSchema }))
    .mutation(async ({ ctx, input }) => {
      // A link that cannot work costs no password hashing: nobody makes the server burn scrypt for free.
      if (!(await ctx.db.query.invites.findFirst({ where: openInvite(input.token), columns: { id: true } }))) {
        throw new TRPCError({ code: "NOT_FOUND", message: "this invitation is invalid, used or expired" });
      }
      const passwordHash = await hashPassword(input.password);
      return ctx.db.transaction(async (tx) => {
        const [invite] = await tx
          .update(invites)
          .set({ usedAt: new Date() })
          .where(openInvite(input.token))
          .returning();
        if (!invite) throw new TRPCError({ code: "NOT_FOUND", message: "this invitation is invalid, used or expired" });
        const [user] = await tx
          .insert(users)
          .values({ email: invite.email, name: input.name, role: invite.role, passwordHash })
          .onConflictDoNothing()
          .returning({ id: users.id, email: users.email });
        if (!user) throw new TRPCError({ code: "CONFLICT", message: `an account for ${invite.email} already exists` });
        return user;
      });
    }),
});
