import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { sessionUserId } from "@/server/auth/options";
import { appRouter } from "@/server/routers";
import { services } from "@/server/services";
import { createContextInner } from "@/server/trpc";

const handler = (req: Request) =>
  fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    createContext: async () => createContextInner({ services: services(), userId: await sessionUserId() }),
    onError: ({ error, path }) => {
      if (error.code === "INTERNAL_SERVER_ERROR") console.error(`[trpc] ${path}:`, error);
    },
  });

export { handler as GET, handler as POST };
