/** MurmurHash3's fmix32: avalanches every input bit over the whole 32-bit word (the seeds' and splits' hashes end with it). */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
