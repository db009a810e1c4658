import type { Metadata } from "next";
import { LaunchForm } from "./LaunchForm";

export const metadata: Metadata = { title: "Launch a run" };

export default async function LaunchPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const p = await searchParams;
  const from = typeof p.from === "string" && /^[0-9a-f-]{36}$/i.test(p.from) ? p.from : undefined;
  const kind = typeof p.kind === "string" ? p.kind : undefined;
  return <LaunchForm fromRunId={from} initialKind={kind} initialMode={p.mode === "sweep" ? "sweep" : "single"} />;
}
