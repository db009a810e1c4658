/** Downloads a run's artifact (a checkpoint, say). */
import { eq } from "drizzle-orm";
import { artifacts } from "@/db/schema";
import { sessionUserId } from "@/server/auth/options";
import { services } from "@/server/services";

export async function GET(_req: Request, { params }: { params: Promise<{ id: string }> }) {
  if (!(await sessionUserId())) return new Response("sign in first", { status: 401 });
  const id = Number((await params).id);
  if (!Number.isSafeInteger(id)) return new Response("bad id", { status: 400 });
  const [row] = await services().db.select().from(artifacts).where(eq(artifacts.id, id));
  if (!row) return new Response("not found", { status: 404 });
  return new Response(new Uint8Array(row.bytes), {
    headers: {
      "content-type": "application/octet-stream",
      "content-disposition": `attachment; filename="${row.name.replace(/[^\w.-]/g, "_")}"`,
    },
  });
}
