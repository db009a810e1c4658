/** Liveness for people and scripts: `{ ok, db, workers }`, 503 when the database is unreachable. */
import { liveWorkerCount } from "@/db/liveness";
import { services } from "@/server/services";

export const dynamic = "force-dynamic";

export async function GET() {
  try {
    const workers = await liveWorkerCount(services().sql);
    return Response.json({ ok: true, db: "up", workers });
  } catch (err) {
    return Response.json(
      { ok: false, db: "down", workers: 0, error: err instanceof Error ? err.message : String(err) },
      { status: 503 },
    );
  }
}
