/** Secret tokens in links (invitations, first set-up): random, stored and compared only as SHA-256 digests. */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export const newToken = () => randomBytes(24).toString("base64url");

export const hashToken = (token: string) => createHash("sha256").update(token, "utf8").digest("hex");

/** Compares in constant time (digests have equal length whatever the inputs). */
export function tokensMatch(given: string, expected: string): boolean {
  return timingSafeEqual(Buffer.from(hashToken(given), "hex"), Buffer.from(hashToken(expected), "hex"));
}

/**
 * The first-visitor set-up token. `npm start` generates it into the data folder and prints the set-up link (as
 * Jupyter prints its token), so an exposed fresh instance cannot be claimed by whoever finds it first. A server
 * started another way takes it from CRACKDIFF_SETUP_TOKEN; without one, set-up stays closed.
 */
export function setupTokenValid(given: string): boolean {
  const expected = process.env.CRACKDIFF_SETUP_TOKEN;
  return !!expected && tokensMatch(given, expected);
}
