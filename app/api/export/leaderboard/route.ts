/** A leaderboard as CSV: `?dataset=…` (the busiest when absent), `&sweepId=…` for one sweep's children. */
import { csvResponse } from "@/app/_lib/csv-response";
import { requestCaller } from "@/app/_lib/server";

export async function GET(req: Request) {
  const params = new URL(req.url).searchParams;
  return csvResponse(async () =>
    (await requestCaller(req)).leaderboards.csv({ dataset: params.get("dataset") ?? undefined, sweepId: params.get("sweepId") ?? undefined }),
  );
}
