/** Password hashing with scrypt (memory-hard, in Node's crypto; no native add-on to build). */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

/** OWASP's current recommendation for scrypt: N = 2^17, r = 8, p = 1 (128 MiB, ~0.3 s per hash here). */
export const SCRYPT_PARAMS = { N: 1 << 17, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer, params: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize("NFKC"), salt, KEY_LENGTH, { ...params, maxmem: 256 * params.N! * params.r! }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** Format: scrypt$N$r$p$salt$hash (base64), so parameters can be raised later without breaking old hashes. */
export async function hashPassword(password: string, params: ScryptOptions = SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, params);
  return ["scrypt", params.N, params.r, params.p, salt.toString("base64"), key.toString("base64")].join("$");
}

function parse(stored: string) {
  const [scheme, N, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !salt || !hash) return null;
  const params = { N: Number(N), r: Number(r), p: Number(p) };
  // Only parameters this code could have written; anything else is a corrupt row, not a reason to burn memory.
  if (![params.N, params.r, params.p].every(Number.isSafeInteger) || params.N > 1 << 20 || params.r > 32 || params.p > 16) return null;
  return { params, salt: Buffer.from(salt, "base64"), hash: Buffer.from(hash, "base64") };
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parse(stored);
  if (!parsed) return false;
  const key = await derive(password, parsed.salt, parsed.params);
  return key.length === parsed.hash.length && timingSafeEqual(key, parsed.hash);
}

/** True for hashes made with weaker parameters than today's: they are replaced at the next sign-in. */
export function needsRehash(stored: string): boolean {
  const parsed = parse(stored);
  return !parsed || parsed.params.N !== SCRYPT_PARAMS.N || parsed.params.r !== SCRYPT_PARAMS.r || parsed.params.p !== SCRYPT_PARAMS.p;
}

let dummy: Promise<string> | undefined;

/**
 * The same work as checking a real password, for an email with no account (or a disabled one), so the time a
 * sign-in takes does not tell whether the account exists.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  await verifyPassword(password, await (dummy ??= hashPassword(randomBytes(16).toString("hex"))));
  return false;
}
