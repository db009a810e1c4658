/**
 * A run's PNG by id, for <img> tags. Signed-in readers get it under the rules of server/access.ts; with
 * `?share=<token>` (a shared dashboard's images) it is served only if that link is live and its dashboard shows
 * the image.
 */
import { mediaResponse } from "@/server/files";
import { contextFromRequest } from "@/server/request";
import { services } from "@/server/services";
import { sharedMedia } from "@/server/share";

export async function GET(req: Request, { params }: { params: Promise<{ id: string }> }) {
  const rawId = (await params).id;
  const token = new URL(req.url).searchParams.get("share");
  if (token === null) return mediaResponse(await contextFromRequest(req), rawId);
  const id = Number(rawId);
  if (!/^\d{1,15}$/.test(rawId)) return new Response("id: expected a number", { status: 400 });
  const shared = await sharedMedia(services().db, token, id);
  // Not cached: a revoked link must stop showing images at once.
  return shared.ok
    ? new Response(new Uint8Array(shared.png), { headers: { "content-type": "image/png", "cache-control": "no-store" } })
    : new Response(shared.message, { status: shared.status });
}
