/** People and roles. Admin only, except `me`. */
import { TRPCError } from "@trpc/server";
import { and, asc, desc, eq, isNull, ne, sql } from "drizzle-orm";
import { z } from "zod";
import { invites, roleEnum, users } from "../../db/schema";
import { hashPassword } from "../auth/password";
import { hashToken, newToken } from "../auth/tokens";
import { adminProcedure, protectedProcedure, router } from "../trpc";
import { emailSchema, nameSchema, passwordSchema } from "./auth";

const roleSchema = z.enum(roleEnum.enumValues);
const INVITE_DAYS = 7;

export const usersRouter = router({
  me: protectedProcedure.query(({ ctx }) => ctx.user),

  list: adminProcedure.query(({ ctx }) =>
    ctx.db
      .select({
        id: users.id,
        email: users.email,
        name: users.name,
        role: users.role,
        disabled: users.disabled,
        createdAt: users.createdAt,
      })
      .from(users)
      .orderBy(asc(users.createdAt)),
  ),

  create: adminProcedure
    .input(z.object({ email: emailSchema, name: nameSchema, role: roleSchema, password: passwordSchema }))
    .mutation(async ({ ctx, input }) => {
      const [user] = await ctx.db
        .insert(users)
        .values({ email: input.email, name: input.name, role: input.role, passwordHash: await hashPassword(input.password) })
        .onConflictDoNothing()
        .returning({ id: users.id, email: users.email, role: users.role });
      if (!user) throw new TRPCError({ code: "CONFLICT", message: `an account for ${input.email} already exists` });
      return user;
    }),

  /** Returns the invitation token, shown this once (only its hash is stored); the UI turns it into a link. */
  invite: adminProcedure.input(z.object({ email: emailSchema, role: roleSchema })).mutation(async ({ ctx, input }) => {
    const existing = await ctx.db.query.users.findFirst({ where: eq(users.email, input.email) });
    if (existing) throw new TRPCError({ code: "CONFLICT", message: `an account for ${input.email} already exists` });
    const token = newToken();
    const expiresAt = new Date(Date.now() + INVITE_DAYS * 86400_000);
    const [row] = await ctx.db
      .insert(invites)
      .values({ tokenHash: hashToken(token), email: input.email, role: input.role, createdBy: ctx.user.id, expiresAt })
      .returning({ id: invites.id });
    return { id: row!.id, token, expiresAt };
  }),

  /** Invitations, newest first, with their state; the tokens themselves are not kept. */
  invites: adminProcedure.query(({ ctx }) =>
    ctx.db
      .select({
        id: invites.id,
        email: invites.email,
        role: invites.role,
        invitedBy: users.name,
        createdAt: invites.createdAt,
        expiresAt: invites.expiresAt,
        usedAt: invites.usedAt,
        revokedAt: invites.revokedAt,
      })
      .from(invites)
      .leftJoin(users, eq(users.id, invites.createdBy))
      .orderBy(desc(invites.createdAt))
      .limit(200),
  ),

  /** An unused invitation stops working at once. */
  revokeInvite: adminProcedure.input(z.object({ id: z.string().uuid() })).mutation(async ({ ctx, input }) => {
    const [row] = await ctx.db
      .update(invites)
      .set({ revokedAt: new Date() })
      .where(and(eq(invites.id, input.id), isNull(invites.usedAt), isNull(invites.revokedAt)))
      .returning({ id: invites.id, revokedAt: invites.revokedAt });
    if (!row) throw new TRPCError({ code: "NOT_FOUND", message: "no open invitation with this id" });
    return row;
  }),

  update: adminProcedure
    .input(
      z
        .object({ id: z.string().uuid(), role: roleSchema.optional(), disabled: z.boolean().optional() })
        .refine((u) => u.role !== undefined || u.disabled !== undefined, { message: "give a role or disabled to change", path: ["role"] }),
    )
    .mutation(async ({ ctx, input }) => {
      const demotesAdmin = (input.role && input.role !== "admin") || input.disabled;
      if (demotesAdmin) {
        const [others] = await ctx.db
          .select({ n: sql<number>`count(*)::int` })
          .from(users)
          .where(and(eq(users.role, "admin"), eq(users.disabled, false), ne(users.id, input.id)));
        if ((others?.n ?? 0) === 0) {
          throw new TRPCError({ code: "BAD_REQUEST", message: "the team needs at least one active admin" });
        }
      }
      const [user] = await ctx.db
        .update(users)
        // Disabling also ends the account's open sessions, and they stay ended if it is enabled again.
        .set({ role: input.role, disabled: input.disabled, ...(input.disabled ? { sessionVersion: sql`${users.sessionVersion} + 1` } : {}) })
        .where(eq(users.id, input.id))
        .returning({ id: users.id, role: users.role, disabled: users.disabled });
      if (!user) throw new TRPCError({ code: "NOT_FOUND", message: "no such user" });
      return user;
    }),
});
