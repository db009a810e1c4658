/** A run's PNG by id, for <img> tags; who may see it is decided in server/access.ts. */
import { mediaResponse } from "@/server/files";
import { contextFromRequest } from "@/server/request";

export async function GET(req: Request, { params }: { params: Promise<{ id: string }> }) {
  return mediaResponse(await contextFromRequest(req), (await params).id);
}
