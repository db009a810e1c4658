"use client";
/**
 * The browser's way to the API: a tRPC client over one batched HTTP link (superjson, like the server),
 * TanStack Query for caching and polling, and NextAuth's session context for sign-in/out.
 */
import { QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import { SessionProvider } from "next-auth/react";
import { useState, type ReactNode } from "react";
import superjson from "superjson";
import type { AppRouter } from "@/server/routers";

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

function isUnauthorized(err: unknown): boolean {
  return err instanceof TRPCClientError && (err.data as { code?: string } | undefined)?.code === "UNAUTHORIZED";
}

function makeQueryClient() {
  return new QueryClient({
    queryCache: new QueryCache({
      // A session that ended (signed out elsewhere, account disabled) sends the user back to sign in.
      onError: (err) => {
        if (isUnauthorized(err) && typeof window !== "undefined" && !window.location.pathname.startsWith("/signin")) {
          window.location.assign("/signin");
        }
      },
    }),
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        retry: (count, err) => !(err instanceof TRPCClientError && err.data?.httpStatus && err.data.httpStatus < 500) && count < 2,
      },
    },
  });
}

export function Providers({ children }: { children: ReactNode }) {
  const [queryClient] = useState(makeQueryClient);
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [httpBatchLink({ url: "/api/trpc", transformer: superjson })],
    }),
  );
  return (
    <SessionProvider refetchOnWindowFocus={false}>
      <QueryClientProvider client={queryClient}>
        <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
          {children}
        </TRPCProvider>
      </QueryClientProvider>
    </SessionProvider>
  );
}
