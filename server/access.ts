/**
 * Who may do what: the one place that decides. The tRPC procedure chains (server/trpc.ts) and the file routes
 * (media, artifacts) both ask here, so a rule changes for every door at once.
 */
import { TRPCError } from "@trpc/server";
import type { Role } from "../db/schema";
import type { Context, SessionUser } from "./trpc";

/** Access levels, weakest first. `reader`: every signed-in role; `member`: changes runs; `admin`: people. */
export type AccessLevel = "public" | "reader" | "member" | "admin";

const rolesAt: Record<Exclude<AccessLevel, "public">, readonly Role[]> = {
  reader: ["admin", "member", "viewer"],
  member: ["admin", "member"],
  admin: ["admin"],
};

const refusals: Record<Exclude<AccessLevel, "public">, string> = {
  reader: "",
  member: "viewers have read-only access",
  admin: "only an admin can do this",
};

/** The signed-in user if they may act at `level`; otherwise UNAUTHORIZED (no session) or FORBIDDEN. */
export function requireAccess(ctx: Pick<Context, "user">, level: Exclude<AccessLevel, "public">): SessionUser {
  if (!ctx.user) throw new TRPCError({ code: "UNAUTHORIZED", message: "sign in first" });
  if (!rolesAt[level].includes(ctx.user.role)) throw new TRPCError({ code: "FORBIDDEN", message: refusals[level] });
  return ctx.user;
}

/**
 * Who sees a run (its page, metrics, logs, images and files): every signed-in role. A share-link holder will see
 * the runs its link's scope names; checked here too, once share links carry their own context.
 */
export function requireRunReader(ctx: Pick<Context, "user">, _runId: string): void {
  requireAccess(ctx, "reader");
}
