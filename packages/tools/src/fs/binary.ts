/** How many leading bytes are inspected to decide whether a file is binary. */
export const SNIFF_BYTES = 8192;

/** A file is treated as binary when its first bytes contain a NUL byte (the test git and ripgrep use). */
export function looksBinary(bytes: Uint8Array, length = bytes.length): boolean {
  const end = Math.min(length, SNIFF_BYTES);
  return bytes.subarray(0, end).includes(0);
}
