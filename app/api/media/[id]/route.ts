/** A run's PNG by id, for <img> tags. Any signed-in user may read it. */
import { eq } from "drizzle-orm";
import { media } from "@/db/schema";
import { sessionUserId } from "@/server/auth/options";
import { services } from "@/server/services";

export async function GET(_req: Request, { params }: { params: Promise<{ id: string }> }) {
  if (!(await sessionUserId())) return new Response("sign in first", { status: 401 });
  const id = Number((await params).id);
  if (!Number.isSafeInteger(id)) return new Response("bad id", { status: 400 });
  const [row] = await services().db.select({ png: media.png }).from(media).where(eq(media.id, id));
  if (!row) return new Response("not found", { status: 404 });
  return new Response(new Uint8Array(row.png), {
    headers: { "content-type": "image/png", "cache-control": "private, max-age=31536000, immutable" },
  });
}
