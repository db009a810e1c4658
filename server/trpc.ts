/**
 * tRPC setup: the context (built in two layers so tests call procedures without HTTP) and the access levels
 * as named procedure chains. Handlers never check roles themselves.
 */
import { initTRPC, TRPCError } from "@trpc/server";
import { eq } from "drizzle-orm";
import superjson from "superjson";
import { ZodError } from "zod";
import { users, type Role } from "../db/schema";
import { requireAccess, type AccessLevel } from "./access";
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

/**
 * Loads the signed-in user fresh from the database on every request, so a role change, a disabled account or a
 * raised session version applies at once. `sessionVersion` is the one the session cookie was issued with.
 */
export async function createContextInner(opts: { services: Services; userId: string | null; sessionVersion?: number }): Promise<Context> {
  let user: SessionUser | null = null;
  if (opts.userId) {
    const row = await opts.services.db.query.users.findFirst({ where: eq(users.id, opts.userId) });
    const current = opts.sessionVersion === undefined || row?.sessionVersion === opts.sessionVersion;
    if (row && !row.disabled && current) user = { id: row.id, email: row.email, name: row.name, role: row.role };
  }
  return { ...opts.services, user };
}

const t = initTRPC.context<Context>().create({
  transformer: superjson,
  // Stack traces reach the browser only in development, never in production or tests.
  isDev: process.env.NODE_ENV === "development",
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

/** Where in an input the first string holding a NUL character is (Postgres text cannot store one), or null. */
function nulPath(value: unknown, path: string[] = [], depth = 0): string[] | null {
  if (typeof value === "string") return value.includes("\u0000") ? path : null;
  if (depth > 32 || value === null || typeof value !== "object") return null;
  for (const [key, item] of Object.entries(value)) {
    if (key.includes("\u0000")) return [...path, key];
    const found = nulPath(item, [...path, key], depth + 1);
    if (found) return found;
  }
  return null;
}

/** Every procedure refuses text with NUL characters up front, naming the field, before anything reaches the database. */
const base = t.procedure.use(async ({ getRawInput, next }) => {
  const found = nulPath(await getRawInput());
  if (found) {
    throw new TRPCError({ code: "BAD_REQUEST", message: `${found.join(".") || "input"}: text must not contain NUL characters` });
  }
  return next();
});

const requireLevel = (level: Exclude<AccessLevel, "public">) =>
  t.middleware(({ ctx, next }) => next({ ctx: { ...ctx, user: requireAccess(ctx, level) } }));

/** No session needed: the set-up and invitation pages. */
export const publicProcedure = base;
/** Anyone signed in: reading. */
export const protectedProcedure = base.use(requireLevel("reader"));
/** Members and admins: launching and changing runs. Viewers are read-only. */
export const memberProcedure = base.use(requireLevel("member"));
/** Admins: people and access. */
export const adminProcedure = base.use(requireLevel("admin"));
