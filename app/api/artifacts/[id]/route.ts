/** Downloads a run's artifact (a checkpoint, say), streamed; who may is decided in server/access.ts. */
import { artifactResponse } from "@/server/files";
import { contextFromRequest } from "@/server/request";

export async function GET(req: Request, { params }: { params: Promise<{ id: string }> }) {
  return artifactResponse(await contextFromRequest(req), (await params).id);
}
