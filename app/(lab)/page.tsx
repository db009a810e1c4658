import type { Metadata } from "next";
import { RunsList } from "./_runs/RunsList";

export const metadata: Metadata = { title: "Runs" };

export default async function RunsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const p = await searchParams;
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v) ?? "";
  return (
    <RunsList
      initial={{ status: one(p.status), kind: one(p.kind), q: one(p.q), tag: one(p.tag), archived: one(p.archived), sort: one(p.sort), dir: one(p.dir) }}
    />
  );
}
