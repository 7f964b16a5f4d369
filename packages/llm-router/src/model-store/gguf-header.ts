import { open } from 'node:fs/promises';
import { ModelStoreError } from './model-store-error';

/** A metadata value as read from the header. Arrays longer than `maxArrayItems` keep only their type and length. */
export type GgufValue = number | bigint | boolean | string | GgufValue[] | { arrayType: number; length: number };

export interface GgufHeader {
  version: number;
  tensorCount: number;
  metadata: Record<string, GgufValue>;
  /** Element count of each tensor's dimensions, summed: the parameter count. Undefined if not read. */
  parameterCount?: number;
  /** ggml type id of each tensor, counted: `{ 0: 57 }` for 57 F32 tensors. */
  tensorTypes?: Record<number, number>;
}

/** What `unity models list` shows of a model. */
export interface GgufSummary {
  architecture: string;
  name?: string;
  contextLength?: number;
  parameterCount?: number;
  /** `Q4_K_M`, `F16`, … from `general.file_type`, else from the tensors' most common type. */
  quantization?: string;
  hasChatTemplate: boolean;
}

interface ReadGgufOptions {
  /** Also read the tensor infos (to count parameters). Default true. */
  tensors?: boolean;
  /** Arrays with more items than this are skipped (type and length kept). Default 64. */
  maxArrayItems?: number;
}

const MAGIC = 0x46554747; // "GGUF" read as little-endian u32
const MAX_STRING = 64 * 1024 * 1024;
const MAX_KV = 1_000_000;
const MAX_TENSORS = 10_000_000;
const MAX_DIMS = 8;
const CHUNK = 64 * 1024;

enum ValueType {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
}
const fixedSizes: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** Reads forward through a file in chunks, so only the header (never the tensor data) is read. */
class ChunkedReader {
  private buffer: Buffer = Buffer.alloc(0);
  private bufferStart = 0;
  position = 0;

  constructor(
    private readonly readAt: (position: number, length: number) => Promise<Buffer>,
    readonly size: number,
    private readonly path: string,
  ) {}

  corrupt(what: string): ModelStoreError {
    return new ModelStoreError({
      code: 'CORRUPT_GGUF',
      message: `${this.path}: corrupt GGUF header: ${what} (at byte ${this.position} of ${this.size})`,
      fix: 'the file is damaged or incomplete: download it again (unity models pull <source>)',
    });
  }

  private async ensure(length: number, what: string): Promise<Buffer> {
    if (this.position + length > this.size) throw this.corrupt(`file ends while reading ${what}`);
    const offset = this.position - this.bufferStart;
    if (offset + length > this.buffer.length) {
      this.buffer = await this.readAt(this.position, Math.min(Math.max(length, CHUNK), this.size - this.position));
      this.bufferStart = this.position;
    }
    const start = this.position - this.bufferStart;
    this.position += length;
    return this.buffer.subarray(start, start + length);
  }

  async u32(what: string): Promise<number> {
    return (await this.ensure(4, what)).readUInt32LE(0);
  }

  async u64(what: string, max: number): Promise<number> {
    const value = (await this.ensure(8, what)).readBigUInt64LE(0);
    if (value > BigInt(max)) throw this.corrupt(`${what} is ${value}, more than the ${max} allowed`);
    return Number(value);
  }

  async string(what: string): Promise<string> {
    const length = await this.u64(`length of ${what}`, MAX_STRING);
    return (await this.ensure(length, what)).toString('utf8');
  }

  async skipString(what: string): Promise<void> {
    const length = await this.u64(`length of ${what}`, MAX_STRING);
    await this.skip(length, what);
  }

  async skip(length: number, what: string): Promise<void> {
    if (this.position + length > this.size) throw this.corrupt(`file ends while reading ${what}`);
    this.position += length;
  }

  async scalar(type: number, what: string): Promise<GgufValue> {
    const size = fixedSizes[type];
    if (size === undefined) throw this.corrupt(`unknown value type ${type} for ${what}`);
    const b = await this.ensure(size, what);
    switch (type) {
      case ValueType.U8:
        return b.readUInt8(0);
      case ValueType.I8:
        return b.readInt8(0);
      case ValueType.U16:
        return b.readUInt16LE(0);
      case ValueType.I16:
        return b.readInt16LE(0);
      case ValueType.U32:
        return b.readUInt32LE(0);
      case ValueType.I32:
        return b.readInt32LE(0);
      case ValueType.F32:
        return b.readFloatLE(0);
      case ValueType.Bool:
        return b.readUInt8(0) !== 0;
      case ValueType.U64:
        return toNumber(b.readBigUInt64LE(0));
      case ValueType.I64:
        return toNumber(b.readBigInt64LE(0));
      default:
        return b.readDoubleLE(0);
    }
  }
}

function toNumber(value: bigint): number | bigint {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value;
}

async function readValue(r: ChunkedReader, type: number, key: string, maxArrayItems: number): Promise<GgufValue> {
  if (type === ValueType.String) return r.string(`value of ${key}`);
  if (type !== ValueType.Array) return r.scalar(type, `value of ${key}`);
  const itemType = await r.u32(`item type of ${key}`);
  const length = await r.u64(`length of ${key}`, 2 ** 32);
  if (itemType === ValueType.Array) throw r.corrupt(`nested array in ${key}`);
  if (itemType !== ValueType.String && fixedSizes[itemType] === undefined) {
    throw r.corrupt(`unknown item type ${itemType} in ${key}`);
  }
  if (length > maxArrayItems) {
    if (itemType === ValueType.String) {
      for (let i = 0; i < length; i++) await r.skipString(`${key}[${i}]`);
    } else {
      await r.skip(length * (fixedSizes[itemType] as number), key);
    }
    return { arrayType: itemType, length };
  }
  const items: GgufValue[] = [];
  for (let i = 0; i < length; i++) items.push(await readValue(r, itemType, `${key}[${i}]`, maxArrayItems));
  return items;
}

/** True when the file starts with the GGUF magic bytes. */
export async function isGgufFile(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { bytesRead, buffer } = await handle.read(Buffer.alloc(4), 0, 4, 0);
    return bytesRead === 4 && buffer.readUInt32LE(0) === MAGIC;
  } finally {
    await handle.close();
  }
}

/**
 * Read a GGUF (v2/v3) file's header: version, tensor count and the metadata key-values, and (unless `tensors: false`)
 * the tensor infos for a parameter count. Reads forward from the start in 64 KiB chunks; never reads tensor data.
 * Throws `ModelStoreError` `NOT_GGUF` for another kind of file and `CORRUPT_GGUF` (naming the byte) for a damaged one.
 */
export async function readGgufHeader(path: string, options: ReadGgufOptions = {}): Promise<GgufHeader> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const reader = new ChunkedReader(
      async (position, length) => {
        const { buffer, bytesRead } = await handle.read(Buffer.alloc(length), 0, length, position);
        return buffer.subarray(0, bytesRead);
      },
      size,
      path,
    );
    return await parseHeader(reader, path, options);
  } finally {
    await handle.close();
  }
}

async function parseHeader(r: ChunkedReader, path: string, options: ReadGgufOptions): Promise<GgufHeader> {
  const maxArrayItems = options.maxArrayItems ?? 64;
  if (r.size < 4) throw notGguf(path, `it is only ${r.size} bytes long`);
  const magic = await r.u32('magic');
  if (magic !== MAGIC) throw notGguf(path, `it starts with bytes 0x${magic.toString(16).padStart(8, '0')}`);
  const version = await r.u32('version');
  if (version !== 2 && version !== 3) {
    const hint = version > 0xffff ? ' (a big-endian file?)' : version === 1 ? ' (GGUF v1 is obsolete)' : '';
    throw new ModelStoreError({
      code: 'CORRUPT_GGUF',
      message: `${path}: GGUF version ${version} is not supported${hint}; versions 2 and 3 are`,
      fix: 'download a current GGUF conversion of the model',
    });
  }
  const tensorCount = await r.u64('tensor count', MAX_TENSORS);
  const kvCount = await r.u64('metadata count', MAX_KV);
  const metadata: Record<string, GgufValue> = {};
  for (let i = 0; i < kvCount; i++) {
    const key = await r.string(`key of metadata entry ${i}`);
    const type = await r.u32(`type of ${key}`);
    metadata[key] = await readValue(r, type, key, maxArrayItems);
  }
  const header: GgufHeader = { version, tensorCount, metadata };
  if (options.tensors === false) return header;
  let parameterCount = 0;
  const tensorTypes: Record<number, number> = {};
  for (let i = 0; i < tensorCount; i++) {
    await r.skipString(`name of tensor ${i}`);
    const dims = await r.u32(`dimension count of tensor ${i}`);
    if (dims > MAX_DIMS) throw r.corrupt(`tensor ${i} has ${dims} dimensions`);
    let elements = 1;
    for (let d = 0; d < dims; d++) elements *= await r.u64(`dimension ${d} of tensor ${i}`, 2 ** 48);
    const type = await r.u32(`type of tensor ${i}`);
    await r.skip(8, `offset of tensor ${i}`);
    parameterCount += elements;
    tensorTypes[type] = (tensorTypes[type] ?? 0) + 1;
  }
  return { ...header, parameterCount, tensorTypes };
}

function notGguf(path: string, why: string): ModelStoreError {
  return new ModelStoreError({
    code: 'NOT_GGUF',
    message: `${path} is not a GGUF model file: ${why}, not "GGUF"`,
    fix: 'use a .gguf file (convert other formats with llama.cpp, or pull a GGUF build of the model)',
  });
}

/** `general.file_type` (llama_ftype) names. */
const fileTypeNames: Record<number, string> = {
  0: 'F32',
  1: 'F16',
  2: 'Q4_0',
  3: 'Q4_1',
  7: 'Q8_0',
  8: 'Q5_0',
  9: 'Q5_1',
  10: 'Q2_K',
  11: 'Q3_K_S',
  12: 'Q3_K_M',
  13: 'Q3_K_L',
  14: 'Q4_K_S',
  15: 'Q4_K_M',
  16: 'Q5_K_S',
  17: 'Q5_K_M',
  18: 'Q6_K',
  19: 'IQ2_XXS',
  20: 'IQ2_XS',
  21: 'Q2_K_S',
  22: 'IQ3_XS',
  23: 'IQ3_XXS',
  24: 'IQ1_S',
  25: 'IQ4_NL',
  26: 'IQ3_S',
  27: 'IQ3_M',
  28: 'IQ2_S',
  29: 'IQ2_M',
  30: 'IQ4_XS',
  31: 'IQ1_M',
  32: 'BF16',
  36: 'TQ1_0',
  37: 'TQ2_0',
};

/** ggml tensor type names, for files without `general.file_type`. */
const tensorTypeNames: Record<number, string> = {
  0: 'F32',
  1: 'F16',
  2: 'Q4_0',
  3: 'Q4_1',
  6: 'Q5_0',
  7: 'Q5_1',
  8: 'Q8_0',
  10: 'Q2_K',
  11: 'Q3_K',
  12: 'Q4_K',
  13: 'Q5_K',
  14: 'Q6_K',
  30: 'BF16',
};

/** The facts a model listing shows, from a header. Throws `CORRUPT_GGUF` when `general.architecture` is missing. */
export function summarizeGguf(header: GgufHeader, path: string): GgufSummary {
  const architecture = header.metadata['general.architecture'];
  if (typeof architecture !== 'string') {
    throw new ModelStoreError({
      code: 'CORRUPT_GGUF',
      message: `${path}: GGUF header has no general.architecture`,
      fix: 'download a complete GGUF conversion of the model',
    });
  }
  const name = header.metadata['general.name'];
  const contextLength = header.metadata[`${architecture}.context_length`];
  const fileType = header.metadata['general.file_type'];
  let quantization = typeof fileType === 'number' ? fileTypeNames[fileType] : undefined;
  if (!quantization && header.tensorTypes) {
    const [mostCommon] = Object.entries(header.tensorTypes).sort((a, b) => b[1] - a[1]);
    if (mostCommon) quantization = tensorTypeNames[Number(mostCommon[0])];
  }
  return {
    architecture,
    ...(typeof name === 'string' ? { name } : {}),
    ...(typeof contextLength === 'number' ? { contextLength } : {}),
    ...(header.parameterCount !== undefined ? { parameterCount: header.parameterCount } : {}),
    ...(quantization ? { quantization } : {}),
    hasChatTemplate: typeof header.metadata['tokenizer.chat_template'] === 'string',
  };
}
