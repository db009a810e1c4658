/**
 * Server components reach the API the same way the browser does: through tRPC, here as a direct caller
 * with the signed-in user's context (no HTTP round trip).
 */
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { appRouter } from "@/server/routers";
import { contextFromCookies, contextFromRequest } from "@/server/request";
import { createCallerFactory, type SessionUser } from "@/server/trpc";

const createCaller = createCallerFactory(appRouter);

export async function serverCaller() {
  return createCaller(await contextFromCookies((await headers()).get("cookie")));
}

/** The same, for a route handler: built from the request it answers. */
export async function requestCaller(req: Request) {
  return createCaller(await contextFromRequest(req));
}

/** The signed-in, enabled user, or null. */
export async function currentUser(): Promise<SessionUser | null> {
  return (await serverCaller()).users.me().catch(() => null);
}

/** For lab pages: the user, or a redirect to set-up (no account yet) or sign-in. */
export async function requireUser(): Promise<SessionUser> {
  const caller = await serverCaller();
  const user = await caller.users.me().catch(() => null);
  if (user) return user;
  const { setupNeeded } = await caller.auth.status();
  redirect(setupNeeded ? "/setup" : "/signin");
}
