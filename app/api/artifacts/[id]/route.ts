/** Downloads a run's artifact (a checkpoint, say), streamed from the database piece by piece. */
import { artifactStream, findArtifact } from "@/db/artifacts";
import { sessionUserId } from "@/server/auth/options";
import { services } from "@/server/services";

export async function GET(_req: Request, { params }: { params: Promise<{ id: string }> }) {
  if (!(await sessionUserId())) return new Response("sign in first", { status: 401 });
  const id = Number((await params).id);
  if (!Number.isSafeInteger(id)) return new Response("bad id", { status: 400 });
  const { sql } = services();
  const info = await findArtifact(sql, { id });
  if (!info) return new Response("not found", { status: 404 });
  return new Response(artifactStream(sql, id), {
    headers: {
      "content-type": "application/octet-stream",
      "content-length": String(info.size),
      "content-disposition": `attachment; filename="${info.name.replace(/[^\w.-]/g, "_")}"`,
    },
  });
}
