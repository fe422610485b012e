/**
 * How much memory the model a config declares can take, computed from the config alone, before
 * anything is fitted or allocated. Vocabularies are not fitted yet, so a vocabulary feature
 * counts at its cap (`vocab.maxSize` + the OOV row): the estimate is an upper bound, and a config
 * that passes cannot run out of memory on a larger vocabulary later.
 *
 * What is counted, as the trainer allocates it (src/model/sparse, src/model/artifact.ts):
 *   - the wide table: weight + FTRL slots z, n (3 × f32) + the gradient accumulator's
 *     2 × i32 marks per row = 20 bytes a row;
 *   - each embedding table: weight + AdaGrad accumulator (2 × f32 per value) + 8 bytes of marks a row;
 *   - the tower: weights, AdaGrad accumulators and gradients (3 × f32 per parameter), plus one
 *     batch of activations forward and backward;
 *   - the biggest file written at save (each `.safetensors` file is built in one buffer).
 */
import { embeddingDimFor, type CrossSpec, type WdpConfig } from './schema.ts';
import { wideBucketsOf } from './wide-buckets.ts';

/** Model memory refused above this, unless `training.memoryLimitMiB` says otherwise: 8 GiB. */
export const DEFAULT_MODEL_MEMORY_LIMIT_MIB = 8192;

/**
 * The longest typed array (elements of a Float32Array, bytes of the buffer a file is built in)
 * on every Node.js wdp runs on: Node 20 (the training image) stops at 2^32, later versions allow
 * more. Above it, allocation throws `Invalid typed array length` — after a full fit, or at save.
 */
export const MAX_TYPED_ARRAY_LENGTH = 2 ** 32;

/**
 * Rows of the wide table: the gradient accumulator addresses row `r`'s mark at `r << 1` in an
 * Int32Array, which wraps negative from 2^30 rows on.
 */
export const MAX_WIDE_ROWS = 2 ** 30;

/** One array-backed part of the model, with the config field that sizes it. */
export interface TableEstimate {
  /** e.g. `embedding "app_id"`, `wide table`, `tower`. */
  readonly name: string;
  /** The config field that sets its row count (or the tower's widths), as a zod path. */
  readonly field: readonly (string | number)[];
  readonly rows: number;
  readonly dim: number;
  /** Bytes in training, optimizer slots included. */
  readonly bytes: number;
  /** Elements of its largest single typed array. */
  readonly longestArray: number;
}

export interface ModelMemoryEstimate {
  /** Upper bound of the bytes training holds at its peak (tables, tower, and the save buffer). */
  readonly bytes: number;
  /** Biggest first. */
  readonly tables: readonly TableEstimate[];
  /** Each file written at save, in bytes (each is one buffer in memory while it is written). */
  readonly files: Readonly<Record<'wide.safetensors' | 'embeddings.safetensors' | 'serving.safetensors', number>>;
  readonly limitBytes: number;
}

type Features = WdpConfig['features'];

/** Rows a categorical feature's table has at most, and the field that sets it. */
function categoricalRows(features: Features, name: string): { rows: number; field: (string | number)[] } | undefined {
  const f = features[name];
  if (!f) return undefined;
  if (f.kind === 'numeric') return { rows: (f.boundaries ? f.boundaries.length : wideBucketsOf(f) - 1) + 1, field: ['features', name] };
  if (f.hashBuckets !== undefined) return { rows: f.hashBuckets, field: ['features', name, 'hashBuckets'] };
  // The OOV row comes on top of the kept tokens; 1_000_000 is vocabSpec's default cap.
  return { rows: (f.vocab?.maxSize ?? 1_000_000) + 1, field: ['features', name, 'vocab', 'maxSize'] };
}

function crossField(i: number): (string | number)[] {
  return ['wide', 'crosses', i, 'hashBuckets'];
}

/** The memory bound of `cfg`'s model (both parts, whichever `--kind` trains). */
export function estimateModelMemory(cfg: WdpConfig): ModelMemoryEstimate {
  const tables: TableEstimate[] = [];

  // The wide part is one flat table of all segments; its biggest segment names the field.
  const segments: { rows: number; field: (string | number)[] }[] = [];
  for (const n of cfg.wide.features) {
    const r = categoricalRows(cfg.features, n);
    if (r) segments.push(r);
  }
  cfg.wide.crosses.forEach((c: CrossSpec, i) => {
    segments.push({ rows: c.hashBuckets, field: crossField(i) });
  });
  const wideRows = segments.reduce((s, x) => s + x.rows, 0);
  if (segments.length > 0) {
    const biggest = segments.reduce((a, b) => (b.rows > a.rows ? b : a));
    tables.push({ name: 'wide table', field: biggest.field, rows: wideRows, dim: 1, bytes: wideRows * 20, longestArray: wideRows * 2 });
  }

  let embValues = 0;
  let inputDim = 0;
  for (const n of new Set(cfg.deep.embeddings)) {
    const r = categoricalRows(cfg.features, n);
    if (!r || cfg.features[n]?.kind === 'numeric') continue;
    const dim = embeddingDimFor(cfg, n, r.rows);
    embValues += r.rows * dim;
    inputDim += dim;
    tables.push({
      name: `embedding "${n}"`,
      field: r.field,
      rows: r.rows,
      dim,
      bytes: r.rows * dim * 8 + r.rows * 8,
      longestArray: r.rows * dim,
    });
  }

  inputDim += new Set(cfg.deep.numeric).size * (cfg.deep.numericPieces ?? 1);
  let towerParams = 0;
  if (inputDim > 0) {
    const widths = [inputDim, ...cfg.deep.hiddenUnits, 1];
    let longest = 0;
    for (let k = 0; k + 1 < widths.length; k++) {
      towerParams += widths[k]! * widths[k + 1]! + widths[k + 1]!;
      longest = Math.max(longest, widths[k]! * widths[k + 1]!);
    }
    const activations = cfg.training.batchSize * widths.reduce((s, w) => s + w, 0) * 4 * 2;
    tables.push({
      name: 'tower',
      field: ['deep', 'hiddenUnits'],
      rows: towerParams,
      dim: 1,
      bytes: towerParams * 12 + activations,
      longestArray: longest,
    });
  }

  if (cfg.training.earlyStopping) {
    // Early stopping keeps a copy of the best weights and optimizer slots in memory.
    const copied = tables.reduce((s, t) => s + t.bytes, 0);
    tables.push({
      name: 'early-stopping copy of the best weights',
      field: ['training', 'earlyStopping'],
      rows: 0,
      dim: 0,
      bytes: copied,
      longestArray: 0,
    });
  }

  const files = {
    'wide.safetensors': wideRows * 12,
    'embeddings.safetensors': embValues * 8,
    'serving.safetensors': (wideRows + embValues + towerParams) * 4,
  };
  tables.sort((a, b) => b.bytes - a.bytes);
  const held = tables.reduce((s, t) => s + t.bytes, 0);
  const limitMiB = cfg.training.memoryLimitMiB ?? DEFAULT_MODEL_MEMORY_LIMIT_MIB;
  return { bytes: held + Math.max(...Object.values(files)), tables, files, limitBytes: limitMiB * 2 ** 20 };
}

/** `1.5 GiB`, `320.0 MiB`, `12 KiB`. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} bytes` : `${v.toFixed(1)} ${units[u]}`;
}

/** A problem with the model's size, at the config field to change. */
export interface MemoryProblem {
  readonly path: (string | number)[];
  readonly message: string;
}

function describeTable(t: TableEstimate): string {
  if (t.rows === 0) return `${t.name} ${formatBytes(t.bytes)} (${t.field.join('.')})`;
  const shape = t.name === 'tower' ? `${n(t.rows)} parameters` : `${n(t.rows)} rows × ${t.dim}`;
  return `${t.name} ${formatBytes(t.bytes)} (${shape}, ${t.field.join('.')})`;
}

const n = (x: number) => x.toLocaleString('en-US');

/**
 * Why `cfg`'s model cannot be allocated or is over its memory limit — an array longer than a
 * typed array can be, a wide table too long to index, a file too large for one buffer, or a total
 * over the limit — as one problem at the field of the first reason, giving the estimate and the
 * biggest tables; undefined when it fits.
 */
export function modelMemoryProblem(cfg: WdpConfig): MemoryProblem | undefined {
  const est = estimateModelMemory(cfg);
  const reasons: { path: readonly (string | number)[]; text: string }[] = [];
  for (const t of est.tables) {
    if (t.longestArray > MAX_TYPED_ARRAY_LENGTH)
      reasons.push({
        path: t.field,
        text: `${t.name} needs an array of ${n(t.longestArray)} values (${n(t.rows)} rows × ${t.dim}), over the ${n(MAX_TYPED_ARRAY_LENGTH)} a typed array can hold`,
      });
    if (t.name === 'wide table' && t.rows > MAX_WIDE_ROWS)
      reasons.push({
        path: t.field,
        text: `the wide table would have ${n(t.rows)} rows (wide.features and wide.crosses together), over the limit of ${n(MAX_WIDE_ROWS)}`,
      });
  }
  // A table too long for one array makes its file too long too: say it once, at the table.
  if (reasons.length === 0) {
    const owner = {
      'wide.safetensors': est.tables.find((t) => t.name === 'wide table'),
      'embeddings.safetensors': est.tables.find((t) => t.name.startsWith('embedding')),
      'serving.safetensors': est.tables.find((t) => t.name !== 'tower'),
    };
    for (const [file, bytes] of Object.entries(est.files) as [keyof typeof owner, number][]) {
      if (bytes > MAX_TYPED_ARRAY_LENGTH)
        reasons.push({
          path: owner[file]?.field ?? ['deep', 'hiddenUnits'],
          text: `${file} would be ${formatBytes(bytes)}, over the ${n(MAX_TYPED_ARRAY_LENGTH)} bytes one buffer can hold when the model is saved`,
        });
    }
  }
  if (est.bytes > est.limitBytes) reasons.push({ path: est.tables[0]?.field ?? [], text: 'the model is over its memory limit' });
  if (reasons.length === 0) return undefined;
  const biggest = est.tables.slice(0, 3).map(describeTable).join('; ');
  return {
    path: [...reasons[0]!.path],
    message:
      `${reasons.map((r) => r.text).join('; ')}. The model needs up to ${formatBytes(est.bytes)}, the limit is ` +
      `${formatBytes(est.limitBytes)} (training.memoryLimitMiB, default ${DEFAULT_MODEL_MEMORY_LIMIT_MIB}); ` +
      `biggest: ${biggest}. Vocabularies count at vocab.maxSize`,
  };
}
