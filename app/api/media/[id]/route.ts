/**
 * A run's PNG by id, for <img> tags. Any signed-in user may read it; with `?share=<token>` (a shared
 * dashboard's images) it is served only if that link is live and its dashboard shows the image.
 */
import { eq } from "drizzle-orm";
import { media } from "@/db/schema";
import { sessionUserId } from "@/server/auth/options";
import { services } from "@/server/services";
import { sharedMedia } from "@/server/share";

const png = (bytes: Buffer, cacheControl: string) =>
  new Response(new Uint8Array(bytes), { headers: { "content-type": "image/png", "cache-control": cacheControl } });

export async function GET(req: Request, { params }: { params: Promise<{ id: string }> }) {
  const id = Number((await params).id);
  if (!Number.isSafeInteger(id)) return new Response("bad id", { status: 400 });
  const token = new URL(req.url).searchParams.get("share");
  if (token !== null) {
    const shared = await sharedMedia(services().db, token, id);
    // Not cached: a revoked link must stop showing images at once.
    return shared.ok ? png(shared.png, "no-store") : new Response(shared.message, { status: shared.status });
  }
  if (!(await sessionUserId())) return new Response("sign in first", { status: 401 });
  const [row] = await services().db.select({ png: media.png }).from(media).where(eq(media.id, id));
  if (!row) return new Response("not found", { status: 404 });
  return png(row.png, "private, max-age=31536000, immutable");
}
