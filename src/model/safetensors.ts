/**
 * Named float32 tensors in the safetensors layout (an 8-byte little-endian header length, a JSON
 * header of {name: {dtype, shape, data_offsets}}, then the raw little-endian data), so model
 * files open in Python's `safetensors` as they are. The format is simple enough that a library
 * would add more than it saves.
 */
import { WdpError } from '../util/errors.ts';
import { MAX_SAFETENSORS_HEADER_BYTES } from '../storage/read-worker.ts';

export interface NamedTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** An int8 tensor (safetensors dtype I8): the quantized serving tower's weights (model/int8-tower.ts). */
export interface Int8NamedTensor {
  readonly shape: readonly number[];
  readonly data: Int8Array;
}

export type AnyNamedTensor = NamedTensor | Int8NamedTensor;

export class TensorFileError extends WdpError {}

/** Larger headers are refused: a corrupted length must not make us allocate gigabytes. */
const MAX_HEADER_BYTES = MAX_SAFETENSORS_HEADER_BYTES;

export function encodeTensors(tensors: ReadonlyMap<string, AnyNamedTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new TensorFileError(`tensor "${name}" has ${t.data.length} values but shape [${t.shape}]`);
    header[name] = {
      dtype: t.data instanceof Int8Array ? 'I8' : 'F32',
      shape: t.shape,
      data_offsets: [offset, offset + t.data.byteLength],
    };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad the header so the data starts 8-byte aligned (what the reference writer does).
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

/**
 * @param options.view return views into `bytes` where the data is 4-byte aligned instead of
 *   copies (serving: halves load time and peak memory; the tensors then keep `bytes` alive and
 *   must be treated as read-only). @default false
 */
/**
 * Tensors a read left out of `bytes` (read-worker.ts `leaveUnread`): their header entries are
 * checked like any other, their bytes never touched, and their place reported in `found`
 * instead of a tensor in the result.
 */
export interface UnreadTensors {
  readonly names: ReadonlySet<string>;
  /** Filled in: shape, and the first byte's offset from the file's start. */
  readonly found: Map<string, { shape: number[]; byteOffset: number }>;
}

export function decodeTensors(
  bytes: Uint8Array,
  source: string,
  options: { view?: boolean; unread?: UnreadTensors } = {},
): Map<string, NamedTensor> {
  const out = decodeAnyTensors(bytes, source, options);
  for (const [name, t] of out)
    if (!(t.data instanceof Float32Array)) throw new TensorFileError(`${source}: tensor "${name}" has dtype I8, expected F32`);
  return out as Map<string, NamedTensor>;
}

/** decodeTensors, also accepting I8 tensors (returned as Int8Array, always views when `view`). */
export function decodeAnyTensors(
  bytes: Uint8Array,
  source: string,
  options: { view?: boolean; unread?: UnreadTensors } = {},
): Map<string, AnyNamedTensor> {
  if (bytes.length < 8) throw new TensorFileError(`${source}: too short to be a tensor file (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > MAX_HEADER_BYTES || 8 + headerLen > bytes.length) {
    throw new TensorFileError(`${source}: header length ${headerLen} does not fit in ${bytes.length} bytes`);
  }
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLen)).toString('utf8'));
  } catch (e) {
    throw new TensorFileError(`${source}: header is not JSON`, { cause: e });
  }
  if (!isObject(header)) throw new TensorFileError(`${source}: header is not a JSON object of tensors`);
  const dataStart = 8 + headerLen;
  const out = new Map<string, AnyNamedTensor>();
  // Byte ranges of the tensors decoded, when some are left unread: none may overlap an unread
  // one, whose bytes in `bytes` are zeros (a well-formed file's tensors never overlap).
  const kept: { name: string; start: number; end: number }[] = [];
  for (const [name, h] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (!isObject(h)) throw new TensorFileError(`${source}: tensor "${name}" is not a {dtype, shape, data_offsets} entry`);
    if (h.dtype !== 'F32' && h.dtype !== 'I8')
      throw new TensorFileError(`${source}: tensor "${name}" has dtype ${String(h.dtype)}, expected F32 or I8`);
    // Checked one by one, not just through their product: dimensions -2 × -3 or 0.5 × 12 make a
    // count that fits the bytes, and offsets before 0 (read from the header) or reversed would
    // still give the right length. The file must say where in its data each tensor is.
    if (!Array.isArray(h.shape) || !h.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new TensorFileError(`${source}: tensor "${name}" has shape ${JSON.stringify(h.shape)}, expected an array of whole numbers ≥ 0`);
    const shape = h.shape as number[];
    const offsets = h.data_offsets;
    const [a, b] = Array.isArray(offsets) ? (offsets as unknown[]) : [];
    if (!Array.isArray(offsets) || offsets.length !== 2 || !Number.isSafeInteger(a) || !Number.isSafeInteger(b))
      throw new TensorFileError(
        `${source}: tensor "${name}" has data_offsets ${JSON.stringify(offsets)}, expected [start, end] byte offsets`,
      );
    const start = a as number;
    const end = b as number;
    const count = shape.reduce((x, y) => x * y, 1);
    const width = h.dtype === 'I8' ? 1 : 4;
    if (start < 0) throw new TensorFileError(`${source}: tensor "${name}" offsets [${start}, ${end}] start before the file's data`);
    if (end - start !== count * width || dataStart + end > bytes.length) {
      throw new TensorFileError(`${source}: tensor "${name}" offsets [${start}, ${end}] do not fit shape [${shape}] and file size`);
    }
    if (options.unread?.names.has(name)) {
      if (h.dtype !== 'F32') throw new TensorFileError(`${source}: tensor "${name}" has dtype ${String(h.dtype)}, expected F32`);
      options.unread.found.set(name, { shape, byteOffset: dataStart + start });
      continue;
    }
    if (options.unread) kept.push({ name, start: dataStart + start, end: dataStart + end });
    const at = bytes.byteOffset + dataStart + start;
    if (h.dtype === 'I8') {
      out.set(name, {
        shape,
        data: options.view ? new Int8Array(bytes.buffer, at, count) : new Int8Array(bytes.slice(dataStart + start, dataStart + end).buffer),
      });
      continue;
    }
    let data: Float32Array;
    if (options.view && at % 4 === 0) data = new Float32Array(bytes.buffer, at, count);
    else {
      // Copy so the tensor is 4-byte aligned and independent of the file buffer.
      data = new Float32Array(count);
      new Uint8Array(data.buffer).set(bytes.subarray(dataStart + start, dataStart + end));
    }
    out.set(name, { shape, data });
  }
  for (const [name, u] of options.unread?.found ?? []) {
    const end = u.byteOffset + u.shape.reduce((x, y) => x * y, 1) * 4;
    const clash = kept.find((k) => k.start < end && u.byteOffset < k.end);
    if (clash) throw new TensorFileError(`${source}: tensor "${clash.name}" overlaps tensor "${name}"`);
  }
  return out;
}

/** A JSON object (not null, not an array). */
function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
