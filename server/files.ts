/** A run's images and artifacts as HTTP responses, under the same rules as the procedures (server/access.ts). */
import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { eq } from "drizzle-orm";
import { artifactStream, findArtifact } from "../db/artifacts";
import { media } from "../db/schema";
import { requireAccess, requireRunReader } from "./access";
import type { Context } from "./trpc";

function numericId(raw: string): number {
  const id = Number(raw);
  if (!/^\d{1,15}$/.test(raw) || !Number.isSafeInteger(id)) throw new TRPCError({ code: "BAD_REQUEST", message: "id: expected a number" });
  return id;
}

async function respond(load: () => Promise<Response>): Promise<Response> {
  try {
    return await load();
  } catch (err) {
    if (!(err instanceof TRPCError)) throw err;
    return new Response(err.message || err.code.toLowerCase(), {
      status: getHTTPStatusCodeFromError(err),
      headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
    });
  }
}

/** A run's PNG by id, for <img> tags. */
export const mediaResponse = (ctx: Context, rawId: string) =>
  respond(async () => {
    requireAccess(ctx, "reader"); // before any lookup: no one learns which ids exist without a session
    const [row] = await ctx.db.select({ runId: media.runId, png: media.png }).from(media).where(eq(media.id, numericId(rawId)));
    if (!row) throw new TRPCError({ code: "NOT_FOUND", message: "no such image" });
    requireRunReader(ctx, row.runId);
    return new Response(new Uint8Array(row.png), {
      headers: { "content-type": "image/png", "cache-control": "private, max-age=3600" },
    });
  });

/** A run's artifact (a checkpoint, say) by id, as a download streamed from the database piece by piece. */
export const artifactResponse = (ctx: Context, rawId: string) =>
  respond(async () => {
    requireAccess(ctx, "reader");
    const id = numericId(rawId);
    const info = await findArtifact(ctx.sql, { id });
    if (!info) throw new TRPCError({ code: "NOT_FOUND", message: "no such artifact" });
    requireRunReader(ctx, info.runId);
    return new Response(artifactStream(ctx.sql, id), {
      headers: {
        "content-type": "application/octet-stream",
        "content-length": String(info.size),
        "content-disposition": `attachment; filename="${info.name.replace(/[^\w.-]/g, "_")}"`,
        "cache-control": "private, no-store",
      },
    });
  });
