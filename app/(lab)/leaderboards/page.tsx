import type { Metadata } from "next";
import { Leaderboard } from "./Leaderboard";

export const metadata: Metadata = { title: "Leaderboards" };

export default async function LeaderboardsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const p = await searchParams;
  const dataset = typeof p.dataset === "string" ? p.dataset : undefined;
  return (
    <div className="stack-lg">
      <div className="page-head">
        <div>
          <h1>Leaderboards</h1>
          <p className="muted">
            Finished evaluation runs per dataset. Runs that differ only in their seeds (or their teacher&apos;s) form one row: mean ± std.
          </p>
        </div>
      </div>
      <Leaderboard initialDataset={dataset} failures />
    </div>
  );
}
