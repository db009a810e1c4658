/** A run's metric points as CSV. */
import { csvResponse } from "@/app/_lib/csv-response";
import { serverCaller } from "@/app/_lib/server";

export async function GET(_req: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return csvResponse(async () => (await serverCaller()).runs.metricsCsv({ id }));
}
