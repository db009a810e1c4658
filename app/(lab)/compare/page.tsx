import type { Metadata } from "next";
import { CompareView } from "./CompareView";

export const metadata: Metadata = { title: "Compare runs" };

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export default async function ComparePage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const p = await searchParams;
  const raw = Array.isArray(p.ids) ? p.ids.join(",") : (p.ids ?? "");
  const ids = [...new Set(raw.split(",").map((s) => s.trim()).filter((s) => uuid.test(s)))].slice(0, 12);
  return <CompareView ids={ids} />;
}
