/**
 * The model artifact: a folder (local or S3) holding
 *   wide.safetensors        bias and wide weights with their FTRL slots (z, n)
 *   embeddings.safetensors  one table per feature with its AdaGrad accumulator
 *   tower.safetensors       tower weights and AdaGrad accumulators
 *   serving.safetensors     the weights alone (no optimizer slots), for scoring: half the bytes
 *                           to read and hash at a cold start
 *   manifest.json           format version, config, transforms, metrics, parent, training data,
 *                           and the size and sha256 of every file above (manifest.ts)
 *   manifest.sha256         the manifest's own sha256, written LAST: a crash mid-write leaves no
 *                           digest, or one that does not match, so a half-written model never loads.
 *   tower-int8.safetensors  optional (config `serving.quantize: "int8"`, or `wdp quantize`): the
 *                           tower's hidden-layer weights as int8 with per-output-channel scales
 *                           (tower/int8.ts). Listed in the manifest like every file, so every
 *                           check covers it; folders without it load as before (no new format:
 *                           the manifest's `files` is an open record, and a reader that knows no
 *                           int8 tower only checks the file, as it does a format-1 tower.onnx).
 * Format-1 folders also hold tower.onnx (the tower as an ONNX graph). Nothing ever read it, so
 * nothing checked it; it is no longer written. The scoring engine builds its graphs in memory
 * from the checked weights in serving.safetensors (tower/onnx-export.ts).
 *
 * What each loading path reads, and checks (size and sha256) before using:
 *   readManifest                    manifest.json against manifest.sha256
 *   readModelFiles, weightsOnly     the manifest, then serving.safetensors (scoring's cold start
 *                                   reads and hashes nothing else)
 *   readModelFiles, in full         the manifest, then EVERY file it lists: the training files it
 *                                   decodes, and the rest (serving.safetensors, a format-1
 *                                   tower.onnx) hashed as a stream. Evaluation, validation and
 *                                   warm starts come here, so a model that passes Validate has no
 *                                   corrupted file, whichever path later reads it.
 *   copyModelFiles (Promote)        every listed file, checked as it is copied
 *
 * This is the bottom of the three model-loading layers (see stored-model.ts): training saves
 * here (saveModelArtifact), and stored-model.ts reads the checked files (readModelFiles).
 * Registries and listings read only the manifest (manifest.ts readManifest).
 */
import { createHash } from 'node:crypto';
import { toPath } from '../storage/file-store.ts';
import { isS3Uri, joinUri, storeFor } from '../storage/index.ts';
import { type FileIdentity, readWithSha256InWorker, type UnreadTensor } from '../storage/read-worker.ts';
import { ModelLoadError } from './errors.ts';
import { checkBytes, type FileEntry, verifyFile } from './file-check.ts';
import { MAPPED_TABLE_PREFIX, type MappedTable, MappedTables } from './mapped-tables.ts';
import { claimPrefetched, dropPrefetched, SERVING_FILE, SERVING_TABLES_UNREAD } from './prefetch.ts';
import {
  MANIFEST_DIGEST_FILE,
  MANIFEST_FILE,
  type ManifestDraft,
  manifestDigestLine,
  MODEL_FORMAT_VERSION,
  type ModelManifest,
  readManifestDocument,
} from './manifest.ts';
import { type AnyNamedTensor, decodeAnyTensors, decodeTensors, encodeTensors, type NamedTensor } from './safetensors.ts';
import { type Int8Matrix, type Int8TowerWeights, quantizeTower } from './tower/int8.ts';
import { type SaveModelOptions, saveModelFolder } from './save-target.ts';
import type { SparseTable } from './sparse/sparse-table.ts';
import { towerLayers } from './tower/state.ts';
import type { TowerShape, TowerState } from './tower/tower.ts';
import { firstNonFinite } from '../util/finite.ts';
import type { WideDeepState } from './wide-deep.ts';

const WIDE_FILE = 'wide.safetensors';
const EMB_FILE = 'embeddings.safetensors';
const TOWER_FILE = 'tower.safetensors';
export { SERVING_FILE };
/** The opt-in int8 serving tower (`W{k}.q` I8, `W{k}.scale` F32 per quantized layer; `b{k}`, the last `W{k}` F32). */
export const INT8_TOWER_FILE = 'tower-int8.safetensors';

/** The INT8_TOWER_FILE bytes of a quantized tower (float tensors first, so they stay 4-byte aligned). */
export function encodeInt8Tower(int8: Int8TowerWeights): Uint8Array {
  const t = new Map<string, AnyNamedTensor>();
  for (const [name, m] of Object.entries(int8.quantized)) t.set(`${name}.scale`, { shape: [m.scale.length], data: m.scale });
  const dims = [int8.shape.inputDim, ...int8.shape.hiddenUnits, 1];
  for (const [name, data] of Object.entries(int8.tensors)) {
    const k = Number(name.slice(1));
    t.set(name, { shape: name.startsWith('W') ? [dims[k]!, dims[k + 1]!] : [dims[k + 1]!], data });
  }
  for (const [name, m] of Object.entries(int8.quantized))
    t.set(`${name}.q`, { shape: [m.q.length / m.scale.length, m.scale.length], data: m.q });
  return encodeTensors(t, { format: 'wdp-tower-int8' });
}

/** The quantized tower in INT8_TOWER_FILE's bytes, checked against the tower's shape. */
export function decodeInt8Tower(
  bytes: Uint8Array,
  shape: { inputDim: number; hiddenUnits: readonly number[] },
  uri: string,
): Int8TowerWeights {
  let tensors: Map<string, AnyNamedTensor>;
  try {
    tensors = decodeAnyTensors(bytes, INT8_TOWER_FILE, { view: true });
  } catch (e) {
    throw new ModelLoadError(uri, (e as Error).message, { cause: e });
  }
  const dims = [shape.inputDim, ...shape.hiddenUnits, 1];
  const quantized: Record<string, Int8Matrix> = {};
  const floats: Record<string, Float32Array> = {};
  const bad = (what: string) => new ModelLoadError(uri, `${INT8_TOWER_FILE}: ${what}`);
  // Shapes exactly, not only value counts: a transposed [out, in] matrix has the right count and
  // would be read as garbage weights.
  const shaped = (t: AnyNamedTensor | undefined, shape: readonly number[]) =>
    t !== undefined && t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
  const expected = new Set<string>();
  for (let k = 0; k + 1 < dims.length; k++) {
    const [rows, cols] = [dims[k]!, dims[k + 1]!];
    const b = tensors.get(`b${k}`);
    if (!(b?.data instanceof Float32Array) || !shaped(b, [cols])) throw bad(`no float32 b${k} of shape [${cols}]`);
    floats[`b${k}`] = b.data;
    expected.add(`b${k}`);
    const q = tensors.get(`W${k}.q`);
    const scale = tensors.get(`W${k}.scale`);
    if (q || scale) {
      if (!(q?.data instanceof Int8Array) || !shaped(q, [rows, cols])) throw bad(`W${k}.q is not int8 [${rows}, ${cols}]`);
      if (!(scale?.data instanceof Float32Array) || !shaped(scale, [cols])) throw bad(`W${k}.scale is not float32 [${cols}]`);
      quantized[`W${k}`] = { q: q.data, scale: scale.data };
      expected.add(`W${k}.q`).add(`W${k}.scale`);
    } else {
      const w = tensors.get(`W${k}`);
      if (!(w?.data instanceof Float32Array) || !shaped(w, [rows, cols]))
        throw bad(`no W${k} (int8 or float32) of shape [${rows}, ${cols}]`);
      floats[`W${k}`] = w.data;
      expected.add(`W${k}`);
    }
  }
  // A tensor the tower has no place for means the file is of another tower (or was edited).
  const extra = [...tensors.keys()].filter((name) => !expected.has(name));
  if (extra.length > 0)
    throw bad(`tensors the tower [${dims.join(', ')}] has no place for: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', …' : ''}`);
  // The int8 values are finite by type; the float32 parts (biases, scales, the logit layer) are not.
  for (const [name, data] of [...Object.entries(floats), ...Object.entries(quantized).map(([n, m]) => [`${n}.scale`, m.scale] as const)])
    checkFinite(uri, INT8_TOWER_FILE, name, data);
  return { shape: { inputDim: shape.inputDim, hiddenUnits: [...shape.hiddenUnits] }, quantized, tensors: floats };
}

/**
 * Throws unless every value of tensor `name` of `file` is finite. A NaN or ±Infinity weight fails
 * nothing by itself: the scores it reaches come out NaN (`null` in JSON) or exactly 0 or 1. For
 * dense tensors of a few MB (firstNonFinite: ~1 ms per million values), not the embedding tables.
 * @throws ModelLoadError naming the file, the tensor and the first bad value
 */
function checkFinite(uri: string, file: string, name: string, data: Float32Array): void {
  const i = firstNonFinite(data);
  if (i >= 0)
    throw new ModelLoadError(uri, `${file}: tensor ${name} holds ${data[i]} (value ${i} of ${data.length}): weights must be finite`);
}

function describeTower(shape: TowerShape): string {
  return `the manifest's tower (inputDim ${shape.inputDim}, hiddenUnits [${shape.hiddenUnits.join(', ')}])`;
}

/**
 * The tower in `file` as the manifest's `tower` shape says it is: every `W{k}` [in, out] and
 * `b{k}` [out] of that shape (and each one's `acc_` accumulator, for the training file) present
 * with exactly that shape and every value finite, and no other tower tensor. Checked here, at the
 * boundary, because past it nothing tells: ONNX Runtime refuses a graph whose weights do not fit
 * the shape, and the plain-JS tower reads past its arrays, at the first request instead of the
 * load. Costs O(tower size), one pass over each tensor: ~1.9M values at the paper shape.
 * @param isTowerTensor which of the file's tensors belong to the tower (the serving file holds the tables too)
 * @throws ModelLoadError naming the file and the tensor
 */
function towerFrom(
  uri: string,
  file: string,
  tensors: ReadonlyMap<string, NamedTensor>,
  shape: TowerShape,
  options: { accumulators: boolean; isTowerTensor: (name: string) => boolean },
): TowerState {
  const expected = new Map<string, number[]>();
  for (const l of towerLayers(shape)) {
    for (const prefix of options.accumulators ? ['', 'acc_'] : ['']) {
      expected.set(`${prefix}W${l.index}`, [l.inDim, l.outDim]);
      expected.set(`${prefix}b${l.index}`, [l.outDim]);
    }
  }
  for (const name of tensors.keys())
    if (options.isTowerTensor(name) && !expected.has(name))
      throw new ModelLoadError(uri, `${file} has tensor ${name}, which is not part of ${describeTower(shape)}`);
  const out: Record<string, Float32Array> = {};
  for (const [name, dims] of expected) {
    const t = tensors.get(name);
    if (!t) throw new ModelLoadError(uri, `${file} has no tensor ${name}, which ${describeTower(shape)} needs as [${dims.join(', ')}]`);
    const count = dims.reduce((a, b) => a * b, 1);
    if (t.shape.length !== dims.length || t.shape.some((d, i) => d !== dims[i]) || t.data.length !== count)
      throw new ModelLoadError(
        uri,
        `${file}: tensor ${name} is [${t.shape.join(', ')}], but ${describeTower(shape)} needs [${dims.join(', ')}] (the manifest's tower shape does not fit the weights)`,
      );
    checkFinite(uri, file, name, t.data);
    out[name] = t.data;
  }
  return { shape: { inputDim: shape.inputDim, hiddenUnits: [...shape.hiddenUnits] }, tensors: out };
}

/** The bias table, checked to be 1 × 1 and finite: it is added to every score. */
function checkedBias(uri: string, file: string, bias: SparseTable): SparseTable {
  if (bias.rows !== 1 || bias.dim !== 1) throw new ModelLoadError(uri, `${file}: tensor bias is [${bias.rows}, ${bias.dim}], not [1, 1]`);
  checkFinite(uri, file, 'bias', bias.weights);
  return bias;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function tableTensors(prefix: string, t: SparseTable, out: Map<string, NamedTensor>): void {
  out.set(`${prefix}/weights`, { shape: [t.rows, t.dim], data: t.weights });
  for (const [slot, data] of Object.entries(t.slots)) out.set(`${prefix}/${slot}`, { shape: [t.rows, t.dim], data });
}

function tableFrom(prefix: string, tensors: Map<string, NamedTensor>, source: string): SparseTable {
  const w = tensors.get(`${prefix}/weights`);
  if (w?.shape.length !== 2) throw new ModelLoadError(source, `missing tensor ${prefix}/weights`);
  const slots: Record<string, Float32Array> = {};
  for (const [name, t] of tensors) {
    if (name.startsWith(`${prefix}/`) && name !== `${prefix}/weights` && !name.slice(prefix.length + 1).includes('/')) {
      slots[name.slice(prefix.length + 1)] = t.data;
    }
  }
  return { rows: w.shape[0]!, dim: w.shape[1]!, weights: w.data, slots };
}

/**
 * Writes the model folder at `uri`: weight files, then the manifest, then its digest last. What
 * is already at `uri` is refused, or replaced so that the old model survives any crash before the
 * new one is whole (local folders; see save-target.ts for S3), as `options.existing` says.
 * @returns the manifest as written
 * @throws ModelTargetError when `uri` holds something `options.existing` does not allow
 */
export async function saveModelArtifact(
  uri: string,
  draft: ManifestDraft,
  state: WideDeepState,
  options: SaveModelOptions = {},
): Promise<ModelManifest> {
  return saveModelFolder(
    uri,
    options.existing ?? 'refuse',
    (dir) => writeModelFiles(dir, draft, state),
    options.lock ? { lock: options.lock } : {},
  );
}

async function writeModelFiles(uri: string, draft: ManifestDraft, state: WideDeepState): Promise<ModelManifest> {
  const store = storeFor(uri);
  const files: Record<string, { sha256: string; bytes: number }> = {};
  const put = async (name: string, bytes: Uint8Array) => {
    await store.write(joinUri(uri, name), bytes);
    files[name] = { sha256: sha256(bytes), bytes: bytes.length };
  };

  const wide = new Map<string, NamedTensor>();
  tableTensors('bias', state.bias, wide);
  if (state.wide) tableTensors('wide', state.wide, wide);
  await put(WIDE_FILE, encodeTensors(wide, { format: 'wdp-wide' }));

  if (state.embeddings.size > 0) {
    const emb = new Map<string, NamedTensor>();
    for (const [feature, t] of state.embeddings) tableTensors(`embedding/${feature}`, t, emb);
    await put(EMB_FILE, encodeTensors(emb, { format: 'wdp-embeddings' }));
  }
  if (state.tower) {
    const tower = new Map<string, NamedTensor>();
    const layers = [state.tower.shape.inputDim, ...state.tower.shape.hiddenUnits, 1];
    for (const [name, data] of Object.entries(state.tower.tensors)) {
      const k = Number(name.replace(/^acc_/, '').slice(1));
      const shape = name.replace(/^acc_/, '').startsWith('W') ? [layers[k]!, layers[k + 1]!] : [layers[k + 1]!];
      tower.set(name, { shape, data });
    }
    await put(TOWER_FILE, encodeTensors(tower, { format: 'wdp-tower' }));
  }
  await put(SERVING_FILE, encodeTensors(servingTensors(state), { format: 'wdp-serving' }));
  if (draft.config.serving?.quantize === 'int8' && state.tower) await put(INT8_TOWER_FILE, encodeInt8Tower(quantizeTower(state.tower)));

  const manifest: ModelManifest = { formatVersion: MODEL_FORMAT_VERSION, ...draft, files };
  const manifestBytes = Buffer.from(JSON.stringify(manifest, null, 2), 'utf8');
  await store.write(joinUri(uri, MANIFEST_FILE), manifestBytes);
  // Last: until the digest matches the manifest just written, the folder does not load.
  await store.write(joinUri(uri, MANIFEST_DIGEST_FILE), manifestDigestLine(manifestBytes));
  return manifest;
}

/**
 * Copies a model folder: every file its manifest lists, each checked against the manifest as it
 * is read, then the manifest's exact bytes, then its digest LAST (so a crash mid-copy leaves a
 * folder that does not load). A corrupted source is refused before its manifest is written.
 * A format-1 source without a digest gets one in the copy (its warning is given on reading it).
 * @returns the copied model's manifest
 * @throws ModelLoadError naming the source file that failed its check
 */
export async function copyModelFiles(from: string, to: string, options: CopyModelOptions = {}): Promise<ModelManifest> {
  const { manifest: source, bytes: sourceBytes } = await readManifestDocument(from);
  const omit = new Set((options.omit ?? []).filter((name) => name in source.files));
  const target = storeFor(to);
  for (const [name, entry] of Object.entries(source.files)) {
    if (!omit.has(name)) await target.write(joinUri(to, name), await readCheckedFile(from, name, entry));
  }
  const added: Record<string, FileEntry> = {};
  for (const [name, bytes] of Object.entries(options.add ?? {})) {
    await target.write(joinUri(to, name), bytes);
    added[name] = { sha256: sha256(bytes), bytes: bytes.length };
  }
  // Unchanged: the source's exact bytes. Changed: a new manifest listing exactly what was written.
  let manifest = source;
  let bytes = sourceBytes;
  if (omit.size > 0 || Object.keys(added).length > 0 || options.config) {
    const files = Object.fromEntries(Object.entries(source.files).filter(([name]) => !omit.has(name)));
    manifest = { ...source, ...(options.config ? { config: options.config } : {}), files: { ...files, ...added } };
    bytes = Buffer.from(JSON.stringify(manifest, null, 2), 'utf8');
  }
  await target.write(joinUri(to, MANIFEST_FILE), bytes);
  await target.write(joinUri(to, MANIFEST_DIGEST_FILE), manifestDigestLine(bytes));
  return manifest;
}

export interface CopyModelOptions {
  /** Listed files to leave out of the copy (and of its manifest); names not listed are ignored. */
  readonly omit?: readonly string[];
  /** Files to add (or replace) in the copy, listed in its manifest with their size and sha256. */
  readonly add?: Readonly<Record<string, Uint8Array>>;
  /** The copy's config, in place of the source's (same model otherwise). */
  readonly config?: ModelManifest['config'];
}

/**
 * A listed file's bytes, after its size and sha256 match the manifest. The store hashes while it
 * reads, or vouches with its own full-object SHA-256 (S3 checksums), so the check costs no
 * second pass over the bytes; either digest must equal the manifest's.
 */
async function readCheckedFile(uri: string, name: string, entry: FileEntry): Promise<Uint8Array> {
  await refuseWrongSize(uri, name, entry);
  // A read started before the manifest was (prefetch.ts): used only if it is exactly the listed
  // file. Otherwise (another version, a failed read) it is dropped and the file read again below,
  // and that read alone decides, so a bad file fails the load as it always has.
  const prefetched = await claimPrefetched(uri, name);
  // A prefetch that left tables unread holds zeros in their place: only a mapping load may take it.
  if (prefetched && !prefetched.unread?.length && prefetched.data.length === entry.bytes && prefetched.sha256 === entry.sha256)
    return prefetched.data;
  let read: { data: Uint8Array; sha256: string };
  try {
    read = await storeFor(uri).readWithSha256(joinUri(uri, name));
  } catch (e) {
    throw new ModelLoadError(uri, `cannot read ${name}: ${(e as Error).message}`, { cause: e });
  }
  checkBytes(uri, name, entry, read.data.length, read.sha256);
  return read.data;
}

/**
 * A file whose size is not the listed one is refused before its bytes are waited for or read: a
 * stray multi-GB file would otherwise be read whole (twice, with a prefetch) and then refused.
 * The stat is cheap beside the read it guards, and a prefetch is already under way meanwhile.
 */
async function refuseWrongSize(uri: string, name: string, entry: FileEntry): Promise<void> {
  const info = await storeFor(uri)
    .stat(joinUri(uri, name))
    .catch(() => undefined);
  if (info && info.sizeBytes !== entry.bytes) {
    dropPrefetched(uri, name);
    throw new ModelLoadError(uri, `${name} is ${info.sizeBytes} bytes, the manifest says ${entry.bytes}`);
  }
}

/**
 * readCheckedFile for a local safetensors file whose large tables are to be mapped
 * (mapped-tables.ts): every byte is hashed and checked as always, but the tables' bytes are not
 * kept (zeros in `data`, untouched). Takes a prefetch only if it was read the same way.
 */
async function readCheckedLeavingTables(
  uri: string,
  name: string,
  entry: FileEntry,
): Promise<{ data: Uint8Array; unread: readonly UnreadTensor[]; identity: FileIdentity }> {
  await refuseWrongSize(uri, name, entry);
  const prefetched = await claimPrefetched(uri, name);
  if (prefetched?.identity && prefetched.unread && prefetched.data.length === entry.bytes && prefetched.sha256 === entry.sha256)
    return { data: prefetched.data, unread: prefetched.unread, identity: prefetched.identity };
  const file = joinUri(uri, name);
  let read: Awaited<ReturnType<typeof readWithSha256InWorker>>;
  try {
    read = await readWithSha256InWorker(toPath(file), file, { leaveUnread: SERVING_TABLES_UNREAD });
  } catch (e) {
    throw new ModelLoadError(uri, `cannot read ${name}: ${(e as Error).message}`, { cause: e });
  }
  checkBytes(uri, name, entry, read.data.length, read.sha256);
  return read;
}

type SafetensorsHeader = Record<string, { dtype?: unknown; shape?: unknown; data_offsets?: unknown }>;

/** SERVING_FILE's header read by byte range, unchecked (see readServingTowerUnchecked); undefined if it does not parse. */
async function readServingHeaderUnchecked(
  uri: string,
  fileBytes: number,
): Promise<{ header: SafetensorsHeader; dataStart: number } | undefined> {
  const file = joinUri(uri, SERVING_FILE);
  const store = storeFor(uri);
  const lenBytes = await store.readRange(file, 0, 8);
  if (lenBytes.length !== 8) return undefined;
  const headerLen = Number(new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true));
  if (headerLen > 16 << 20 || 8 + headerLen > fileBytes) return undefined;
  try {
    return { header: JSON.parse(Buffer.from(await store.readRange(file, 8, 8 + headerLen)).toString('utf8')), dataStart: 8 + headerLen };
  } catch {
    return undefined;
  }
}

/**
 * The tables a mapping load of a local model would leave in SERVING_FILE, from its header read
 * unchecked, opened for a session built ahead of the check (Scorer's plan ahead). Like the tower
 * read ahead, nothing may score with it until `sameAs` finds it the checked load's tables.
 * Undefined when the model is not local or the header does not parse. It picks tables by the
 * read worker's rule (SERVING_TABLES_UNREAD), which the worker applies in its own code: were
 * the two ever to differ, `sameAs` would fail and the plan would be built again, not misused.
 */
export async function mapServingTablesUnchecked(uri: string, manifest: ModelManifest): Promise<MappedTables | undefined> {
  const entry = manifest.files[SERVING_FILE];
  if (!entry || isS3Uri(uri)) return undefined;
  const head = await readServingHeaderUnchecked(uri, entry.bytes);
  if (!head) return undefined;
  const tables = new Map<string, MappedTable>();
  for (const [name, h] of Object.entries(head.header)) {
    if (!name.startsWith(MAPPED_TABLE_PREFIX) || !Array.isArray(h?.data_offsets) || !Array.isArray(h.shape) || h.shape.length !== 2)
      continue;
    const [a, b] = h.data_offsets as unknown[];
    const [rows, dim] = h.shape as unknown[];
    if (typeof a !== 'number' || typeof b !== 'number' || typeof rows !== 'number' || typeof dim !== 'number') return undefined;
    if (b - a < SERVING_TABLES_UNREAD.minBytes) continue;
    if (b - a !== rows * dim * 4 || head.dataStart + b > entry.bytes) return undefined;
    tables.set(name.slice(MAPPED_TABLE_PREFIX.length), { byteOffset: head.dataStart + a, rows, dim });
  }
  if (tables.size === 0) return undefined;
  return MappedTables.openUnchecked(uri, toPath(joinUri(uri, SERVING_FILE)), tables);
}

/**
 * The tower's weights from SERVING_FILE, read by byte range BEFORE the file is checked, so that
 * a cold start can build the tower's ONNX session while the whole file is still being read and
 * hashed (the tower is ~3% of the file at the paper shape; the session takes ~0.1–0.3 s to build).
 * These bytes are NOT checked: nothing may score with them until `sameTowerBytes` has found them
 * identical, byte for byte, to the tower of the checked file (Scorer does so, and otherwise
 * throws the session away). Undefined when the file's header or tower does not look as the
 * manifest says (the checked read then reports what is wrong).
 */
export async function readServingTowerUnchecked(uri: string, manifest: ModelManifest): Promise<TowerState | undefined> {
  const entry = manifest.files[SERVING_FILE];
  if (!entry || !manifest.tower) return undefined;
  const file = joinUri(uri, SERVING_FILE);
  const store = storeFor(uri);
  const head = await readServingHeaderUnchecked(uri, entry.bytes);
  if (!head) return undefined;
  const { header, dataStart } = head;
  const dims = [manifest.tower.inputDim, ...manifest.tower.hiddenUnits, 1];
  const wanted: { name: string; start: number; count: number }[] = [];
  for (let k = 0; k + 1 < dims.length; k++) {
    for (const [name, count] of [
      [`W${k}`, dims[k]! * dims[k + 1]!],
      [`b${k}`, dims[k + 1]!],
    ] as const) {
      const h = header[name];
      const [a, b] = (Array.isArray(h?.data_offsets) ? h.data_offsets : []) as unknown[];
      if (h?.dtype !== 'F32' || typeof a !== 'number' || typeof b !== 'number' || a % 4 !== 0 || b - a !== count * 4) return undefined;
      if (dataStart + b > entry.bytes) return undefined;
      wanted.push({ name, start: a, count });
    }
  }
  const lo = Math.min(...wanted.map((w) => w.start));
  const hi = Math.max(...wanted.map((w) => w.start + w.count * 4));
  // Stored together as this project writes them; a file laid out otherwise is not worth reading twice.
  if (hi - lo > 2 * wanted.reduce((sum, w) => sum + w.count * 4, 0)) return undefined;
  // One read of the span holding every tower tensor (they are stored together, after the tables).
  const span = await store.readRange(file, dataStart + lo, dataStart + hi);
  if (span.length !== hi - lo) return undefined;
  // readRange returns a fresh buffer: copy only if its offset would misalign the views.
  const bytes = span.byteOffset % 4 === 0 ? span : span.slice();
  const tensors: Record<string, Float32Array> = {};
  for (const w of wanted) tensors[w.name] = new Float32Array(bytes.buffer, bytes.byteOffset + w.start - lo, w.count);
  return { shape: { inputDim: manifest.tower.inputDim, hiddenUnits: [...manifest.tower.hiddenUnits] }, tensors };
}

/** Whether two towers hold the same tensors with byte-identical data (the unchecked read vs the checked one). */
export function sameTowerBytes(a: TowerState, b: TowerState): boolean {
  const names = Object.keys(a.tensors);
  if (names.length !== Object.keys(b.tensors).length) return false;
  return names.every((name) => {
    const x = a.tensors[name]!;
    const y = b.tensors[name];
    return y !== undefined && Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));
  });
}

/** The weights of every part without optimizer slots, named as in SERVING_FILE. */
function servingTensors(state: WideDeepState): Map<string, NamedTensor> {
  const out = new Map<string, NamedTensor>();
  const add = (name: string, t: SparseTable) => out.set(name, { shape: [t.rows, t.dim], data: t.weights });
  add('bias', state.bias);
  if (state.wide) add('wide', state.wide);
  for (const [feature, t] of state.embeddings) add(`embedding/${feature}`, t);
  if (state.tower) {
    const layers = [state.tower.shape.inputDim, ...state.tower.shape.hiddenUnits, 1];
    for (let k = 0; k + 1 < layers.length; k++) {
      out.set(`W${k}`, { shape: [layers[k]!, layers[k + 1]!], data: state.tower.tensors[`W${k}`]! });
      out.set(`b${k}`, { shape: [layers[k + 1]!], data: state.tower.tensors[`b${k}`]! });
    }
  }
  return out;
}

/** A model folder's manifest and weights, each file checked against the manifest. */
export interface ModelFiles {
  readonly manifest: ModelManifest;
  readonly state: WideDeepState;
  /** The int8 serving tower, when asked for (`int8Tower`) and the folder lists one. */
  readonly int8Tower?: Int8TowerWeights;
  /**
   * The embedding tables left in the serving file (`mapTables`); these features are absent from
   * `state.embeddings`. Whoever holds the model closes it.
   */
  readonly mappedTables?: MappedTables;
}

export interface ReadModelFilesOptions {
  /** Only the weights, without optimizer slots (serving.safetensors when present). @default false */
  readonly weightsOnly?: boolean;
  /**
   * The folder's manifest, when the caller has just read it with readManifest (say, to check the
   * model id): a large vocabulary makes reading, hashing and validating it again cost tens of
   * milliseconds. It is trusted as given: pass only a manifest readManifest returned.
   */
  readonly manifest?: ModelManifest;
  /** Also read and check INT8_TOWER_FILE when the manifest lists it. @default false */
  readonly int8Tower?: boolean;
  /**
   * With weightsOnly, for a local folder: leave the large embedding tables in the serving file
   * (hashed and checked all the same) and return them as `mappedTables` (mapped-tables.ts).
   * Ignored for S3 models and without a serving file. @default false
   */
  readonly mapTables?: boolean;
}

/**
 * Reads the manifest (checked against its digest), then the weight files, checking each one's
 * size and sha256 before decoding it. In full (not weightsOnly), every other file the manifest
 * lists is checked too, though not decoded. Throws ModelLoadError (and returns nothing) on any
 * mismatch.
 */
export async function readModelFiles(uri: string, options: ReadModelFilesOptions = {}): Promise<ModelFiles> {
  const manifest = options.manifest ?? (await readManifestDocument(uri)).manifest;
  const int8Entry = options.int8Tower && manifest.tower ? manifest.files[INT8_TOWER_FILE] : undefined;
  const int8 = int8Entry
    ? async () => decodeInt8Tower(await readCheckedFile(uri, INT8_TOWER_FILE, int8Entry), manifest.tower!, uri)
    : async () => undefined;
  if (options.weightsOnly && manifest.files[SERVING_FILE]) {
    const map = options.mapTables === true && !isS3Uri(uri);
    const [{ state, mappedTables }, int8Tower] = await Promise.all([loadServingState(uri, manifest, map), int8()]);
    return { manifest, state, ...(int8Tower ? { int8Tower } : {}), ...(mappedTables ? { mappedTables } : {}) };
  }
  const read = async (name: string, view = false): Promise<Map<string, NamedTensor> | undefined> => {
    const entry = manifest.files[name];
    if (!entry) return undefined;
    const bytes = await readCheckedFile(uri, name, entry);
    try {
      return decodeTensors(bytes, name, { view });
    } catch (e) {
      throw new ModelLoadError(uri, (e as Error).message, { cause: e });
    }
  };
  const wide = await read(WIDE_FILE);
  if (!wide) throw new ModelLoadError(uri, `manifest lists no ${WIDE_FILE}`);
  const emb = await read(EMB_FILE);
  const towerTensors = await read(TOWER_FILE);
  // The files this path does not decode are still part of the model: a full load vouches for all
  // of it, so evaluation cannot pass a model whose serving file (or anything else listed) is bad.
  for (const [name, entry] of Object.entries(manifest.files)) {
    if (name !== WIDE_FILE && name !== EMB_FILE && name !== TOWER_FILE) await verifyFile(uri, name, entry);
  }

  const embeddings = new Map<string, SparseTable>();
  if (emb) {
    const features = new Set([...emb.keys()].map((k) => k.split('/')[1]!));
    for (const f of features) embeddings.set(f, tableFrom(`embedding/${f}`, emb, uri));
  }
  let tower: TowerState | undefined;
  if (towerTensors) {
    if (!manifest.tower) throw new ModelLoadError(uri, 'tower weights present but the manifest has no tower shape');
    tower = towerFrom(uri, TOWER_FILE, towerTensors, manifest.tower, { accumulators: true, isTowerTensor: () => true });
  } else if (manifest.tower) {
    // Without it a training load would start the tower from fresh random weights.
    throw new ModelLoadError(uri, `the manifest has a tower shape but lists no ${TOWER_FILE}`);
  }
  const state: WideDeepState = {
    bias: checkedBias(uri, WIDE_FILE, tableFrom('bias', wide, uri)),
    ...(wide.has('wide/weights') ? { wide: tableFrom('wide', wide, uri) } : {}),
    embeddings,
    ...(tower ? { tower } : {}),
  };
  const int8Tower = await int8();
  return { manifest, state, ...(int8Tower ? { int8Tower } : {}) };
}

/**
 * The weights-only state from SERVING_FILE (checked like every file: size and sha256 first).
 * Tables come back without optimizer slots, as read-only views into the file's bytes.
 */
async function loadServingState(
  uri: string,
  manifest: ModelManifest,
  mapTables: boolean,
): Promise<{ state: WideDeepState; mappedTables?: MappedTables }> {
  const entry = manifest.files[SERVING_FILE]!;
  const read = mapTables ? await readCheckedLeavingTables(uri, SERVING_FILE, entry) : undefined;
  const bytes = read ? read.data : await readCheckedFile(uri, SERVING_FILE, entry);
  const unread = read?.unread.length
    ? { names: new Set(read.unread.map((t) => t.name)), found: new Map<string, { shape: number[]; byteOffset: number }>() }
    : undefined;
  let tensors: Map<string, NamedTensor>;
  try {
    tensors = decodeTensors(bytes, SERVING_FILE, { view: true, ...(unread ? { unread } : {}) });
  } catch (e) {
    throw new ModelLoadError(uri, (e as Error).message, { cause: e });
  }
  const tables = new Map<string, MappedTable>();
  if (read && unread) {
    for (const t of read.unread) {
      const at = unread.found.get(t.name);
      // The worker and the decoder read the same (checked) header, so they agree; anything else is a bug.
      if (at?.shape.length !== 2 || at.byteOffset !== t.start || !t.name.startsWith(MAPPED_TABLE_PREFIX))
        throw new ModelLoadError(uri, `${SERVING_FILE}: tensor ${t.name} is not where its header says`);
      tables.set(t.name.slice(MAPPED_TABLE_PREFIX.length), { byteOffset: at.byteOffset, rows: at.shape[0]!, dim: at.shape[1]! });
    }
  }
  const table = (name: string): SparseTable => {
    const t = tensors.get(name);
    if (t?.shape.length !== 2) throw new ModelLoadError(uri, `${SERVING_FILE} has no tensor ${name}`);
    return { rows: t.shape[0]!, dim: t.shape[1]!, weights: t.data, slots: {} };
  };
  const embeddings = new Map<string, SparseTable>();
  for (const name of tensors.keys()) if (name.startsWith('embedding/')) embeddings.set(name.slice('embedding/'.length), table(name));
  // The tower and the bias are checked for shape and finiteness (a few MB: ~2 ms at the paper
  // shape); the tables are not scanned here (246 MB at the paper shape, read at every cold start):
  // a non-finite value in one is met by the scores it reaches (ServingModel refuses them).
  const tower = manifest.tower
    ? towerFrom(uri, SERVING_FILE, tensors, manifest.tower, { accumulators: false, isTowerTensor: (name) => /^[Wb]\d+$/.test(name) })
    : undefined;
  const state: WideDeepState = {
    bias: checkedBias(uri, SERVING_FILE, table('bias')),
    ...(tensors.has('wide') ? { wide: table('wide') } : {}),
    embeddings,
    ...(tower ? { tower } : {}),
  };
  // Opened last, once nothing else can fail: it holds a descriptor.
  if (!read || tables.size === 0) return { state };
  return { state, mappedTables: MappedTables.open(uri, toPath(joinUri(uri, SERVING_FILE)), read.identity, tables) };
}
