"use client";
/** The signed-in user, loaded on the server by the lab layout and shared with every client component. */
import { createContext, useContext, type ReactNode } from "react";
import type { SessionUser } from "@/server/trpc";

const MeContext = createContext<SessionUser | null>(null);

export function MeProvider({ user, children }: { user: SessionUser; children: ReactNode }) {
  return <MeContext.Provider value={user}>{children}</MeContext.Provider>;
}

export function useMe(): SessionUser {
  const me = useContext(MeContext);
  if (!me) throw new Error("useMe() outside the lab layout");
  return me;
}

export const canWrite = (me: SessionUser) => me.role === "admin" || me.role === "member";
