/** Account set-up without a session: the first admin, and accepting an invitation. */
import { TRPCError } from "@trpc/server";
import { and, eq, gt, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import { invites, users } from "../../db/schema";
import { hashPassword } from "../auth/password";
import { publicProcedure, router } from "../trpc";

export const emailSchema = z.string().trim().toLowerCase().email("enter a valid email address");
export const passwordSchema = z.string().min(10, "the password needs at least 10 characters").max(200);
export const nameSchema = z.string().trim().min(1, "enter a name").max(80);

export const authRouter = router({
  /** True until the first account exists; the UI then shows the set-up page. */
  status: publicProcedure.query(async ({ ctx }) => {
    const [row] = await ctx.db.select({ n: sql<number>`count(*)::int` }).from(users);
    return { setupNeeded: (row?.n ?? 0) === 0 };
  }),

  /** Creates the first admin. Refused once any account exists. */
  setup: publicProcedure
    .input(z.object({ email: emailSchema, name: nameSchema, password: passwordSchema }))
    .mutation(async ({ ctx, input }) => {
      const passwordHash = await hashPassword(input.password);
      return ctx.db.transaction(async (tx) => {
        // Serialise concurrent first visitors: only one becomes admin.
        await tx.execute(sql`lock table ${users} in exclusive mode`);
        const [row] = await tx.select({ n: sql<number>`count(*)::int` }).from(users);
        if ((row?.n ?? 0) > 0) throw new TRPCError({ code: "FORBIDDEN", message: "set-up is already done; sign in" });
        const [admin] = await tx
          .insert(users)
          .values({ email: input.email, name: input.name, role: "admin", passwordHash })
          .returning({ id: users.id, email: users.email });
        return admin!;
      });
    }),

  invite: publicProcedure.input(z.object({ token: z.string().min(1) })).query(async ({ ctx, input }) => {
    const invite = await ctx.db.query.invites.findFirst({
      where: and(eq(invites.token, input.token), isNull(invites.usedAt), gt(invites.expiresAt, new Date())),
    });
    if (!invite) throw new TRPCError({ code: "NOT_FOUND", message: "this invitation is invalid, used or expired" });
    return { email: invite.email, role: invite.role };
  }),

  acceptInvite: publicProcedure
    .input(z.object({ token: z.string().min(1), name: nameSchema, password: passwordSchema }))
    .mutation(async ({ ctx, input }) => {
      const passwordHash = await hashPassword(input.password);
      return ctx.db.transaction(async (tx) => {
        const [invite] = await tx
          .update(invites)
          .set({ usedAt: new Date() })
          .where(and(eq(invites.token, input.token), isNull(invites.usedAt), gt(invites.expiresAt, new Date())))
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
