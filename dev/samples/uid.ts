import { createHash } from 'node:crypto';

/**
 * A deterministic UID under the 2.25 root (PS3.5 B.2: a UUID as one decimal integer): the first 128 bits
 * of the SHA-256 of the parts. The same parts always give the same UID.
 */
export function uid(...parts: (string | number)[]): string {
  const digest = createHash('sha256').update(parts.join('\u0000')).digest();
  return `2.25.${BigInt(`0x${digest.subarray(0, 16).toString('hex')}`).toString(10)}`;
}
