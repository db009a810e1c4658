/**
 * View-only share links. The token (256 random bits) is the only credential: it is shown once to the member
 * who creates the link and stored as its SHA-256, so a database dump opens nothing. Every request checks
 * the link afresh, so a revoked or expired link stops working at once.
 */
import { TRPCError } from "@trpc/server";
import { createHash, randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import type { Database } from "../db/client";
import { dashboards, media, shareLinks } from "../db/schema";
import { galleryRuns, parsePanels } from "./dashboards";

export const hashShareToken = (token: string) => createHash("sha256").update(token).digest("hex");

export function newShareToken(): { token: string; tokenHash: string } {
  const token = randomBytes(32).toString("base64url");
  return { token, tokenHash: hashShareToken(token) };
}

const TOKEN_SHAPE = /^[\w-]{20,100}$/;

/** The dashboard a valid link opens; refuses unknown, revoked and expired links with a sentence saying which. */
export async function openShareLink(db: Database, token: string, now: Date = new Date()): Promise<{ dashboardId: string; expiresAt: Date | null }> {
  const link = TOKEN_SHAPE.test(token) ? await db.query.shareLinks.findFirst({ where: eq(shareLinks.tokenHash, hashShareToken(token)) }) : undefined;
  if (!link) throw new TRPCError({ code: "NOT_FOUND", message: "this share link does not exist" });
  if (link.revokedAt) throw new TRPCError({ code: "FORBIDDEN", message: "this share link was revoked" });
  if (link.expiresAt && link.expiresAt <= now) throw new TRPCError({ code: "FORBIDDEN", message: "this share link has expired" });
  return { dashboardId: link.dashboardId, expiresAt: link.expiresAt };
}

export type SharedMedia = { ok: true; png: Buffer } | { ok: false; status: 403 | 404; message: string };

/** An image through a share link: only one its dashboard shows (a run and key of one of its galleries). */
export async function sharedMedia(db: Database, token: string, mediaId: number): Promise<SharedMedia> {
  let dashboardId: string;
  try {
    ({ dashboardId } = await openShareLink(db, token));
  } catch (err) {
    if (err instanceof TRPCError) return { ok: false, status: err.code === "NOT_FOUND" ? 404 : 403, message: err.message };
    throw err;
  }
  const [dashboard] = await db.select({ panels: dashboards.panels }).from(dashboards).where(eq(dashboards.id, dashboardId));
  const [image] = await db.select({ runId: media.runId, key: media.key, png: media.png }).from(media).where(eq(media.id, mediaId));
  const shown = galleryRuns(parsePanels(dashboard?.panels)).some(
    (g) => image && g.runId === image.runId && (!g.keys?.length || g.keys.includes(image.key)),
  );
  if (!shown) return { ok: false, status: 403, message: "this share link does not show that image" };
  return { ok: true, png: image!.png };
}
