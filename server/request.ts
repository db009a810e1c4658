/**
 * The context of one HTTP request or server-rendered page: the session its cookies carry, checked against the
 * account as it is now. tRPC, the file routes and the pages all start here.
 */
import { sessionFromCookies } from "./auth/options";
import { services } from "./services";
import { createContextInner, type Context } from "./trpc";

export async function contextFromCookies(cookieHeader: string | null): Promise<Context> {
  const session = await sessionFromCookies(cookieHeader);
  return createContextInner({ services: services(), userId: session?.userId ?? null, sessionVersion: session?.sessionVersion });
}

export const contextFromRequest = (req: Request) => contextFromCookies(req.headers.get("cookie"));
