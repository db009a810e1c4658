/** A run's metric points as CSV. */
import { csvResponse } from "@/app/_lib/csv-response";
import { requestCaller } from "@/app/_lib/server";

export async function GET(req: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return csvResponse(async () => (await requestCaller(req)).runs.metricsCsv({ id }));
}
