/**
 * tRPC setup: the context (built in two layers so tests call procedures without HTTP) and the access levels
 * as named procedure chains. Handlers never check roles themselves.
 */
import { initTRPC, TRPCError } from "@trpc/server";
import { eq } from "drizzle-orm";
import superjson from "superjson";
import { ZodError } from "zod";
import { users, type Role } from "../db/schema";
import type { Services } from "./services";

export interface SessionUser {
  id: string;
  email: string;
  name: string;
  role: Role;
}

export interface Context extends Services {
  user: SessionUser | null;
}

/** Loads the signed-in user fresh from the database, so a role change or a disabled account applies at once. */
export async function createContextInner(opts: { services: Services; userId: string | null }): Promise<Context> {
  let user: SessionUser | null = null;
  if (opts.userId) {
    const row = await opts.services.db.query.users.findFirst({ where: eq(users.id, opts.userId) });
    if (row && !row.disabled) user = { id: row.id, email: row.email, name: row.name, role: row.role };
  }
  return { ...opts.services, user };
}

const t = initTRPC.context<Context>().create({
  transformer: superjson,
  errorFormatter: ({ shape, error }) => ({
    ...shape,
    data: {
      ...shape.data,
      fieldErrors: error.cause instanceof ZodError ? error.cause.flatten().fieldErrors : null,
    },
  }),
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure;

const requireRole = (allowed: readonly Role[], message: string) =>
  t.middleware(({ ctx, next }) => {
    if (!ctx.user) throw new TRPCError({ code: "UNAUTHORIZED", message: "sign in first" });
    if (!allowed.includes(ctx.user.role)) throw new TRPCError({ code: "FORBIDDEN", message });
    return next({ ctx: { ...ctx, user: ctx.user } });
  });

/** Anyone signed in: reading. */
export const protectedProcedure = t.procedure.use(requireRole(["admin", "member", "viewer"], ""));
/** Members and admins: launching and changing runs. Viewers are read-only. */
export const memberProcedure = t.procedure.use(requireRole(["admin", "member"], "viewers have read-only access"));
/** Admins: people and access. */
export const adminProcedure = t.procedure.use(requireRole(["admin"], "only an admin can do this"));
