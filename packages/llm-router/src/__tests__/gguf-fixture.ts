// Test helper (not exported): builds small GGUF files byte by byte, so header tests need no real model.

type FixtureValue = { u32: number } | { u64: bigint } | { f32: number } | { bool: boolean } | string | string[];

function stringBytes(value: string): Buffer {
  const body = Buffer.from(value, 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(body.length));
  return Buffer.concat([length, body]);
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return b;
}

function u64(value: bigint | number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(value));
  return b;
}

function valueBytes(value: FixtureValue): Buffer {
  if (typeof value === 'string') return Buffer.concat([u32(8), stringBytes(value)]);
  if (Array.isArray(value)) return Buffer.concat([u32(9), u32(8), u64(value.length), ...value.map(stringBytes)]);
  if ('u32' in value) return Buffer.concat([u32(4), u32(value.u32)]);
  if ('u64' in value) return Buffer.concat([u32(10), u64(value.u64)]);
  if ('f32' in value) {
    const b = Buffer.alloc(4);
    b.writeFloatLE(value.f32);
    return Buffer.concat([u32(6), b]);
  }
  return Buffer.concat([u32(7), Buffer.from([value.bool ? 1 : 0])]);
}

/** A GGUF file: header, the given metadata, and tensor infos of the given shapes (type 1 = F16), no tensor data. */
export function buildGguf(options: {
  version?: number;
  metadata: Record<string, FixtureValue>;
  tensors?: number[][];
  tensorType?: number;
}): Buffer {
  const tensors = options.tensors ?? [];
  return Buffer.concat([
    Buffer.from('GGUF', 'latin1'),
    u32(options.version ?? 3),
    u64(tensors.length),
    u64(Object.keys(options.metadata).length),
    ...Object.entries(options.metadata).flatMap(([key, value]) => [stringBytes(key), valueBytes(value)]),
    ...tensors.flatMap((dims, i) => [
      stringBytes(`tensor.${i}`),
      u32(dims.length),
      ...dims.map((d) => u64(d)),
      u32(options.tensorType ?? 1),
      u64(0),
    ]),
  ]);
}
