/**
 * Server components reach the API the same way the browser does: through tRPC, here as a direct caller
 * with the signed-in user's context (no HTTP round trip).
 */
import { redirect } from "next/navigation";
import { sessionUserId } from "@/server/auth/options";
import { appRouter } from "@/server/routers";
import { services } from "@/server/services";
import { createCallerFactory, createContextInner, type SessionUser } from "@/server/trpc";

const createCaller = createCallerFactory(appRouter);

export async function serverCaller() {
  return createCaller(await createContextInner({ services: services(), userId: await sessionUserId() }));
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
