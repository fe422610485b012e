/**
 * The int8 tower's check before it may serve: the model's holdout rows scored by the serving
 * code twice — float32 tower and int8 tower, both through Scorer (so the check also proves the
 * int8 tower loads and runs) — and compared (evaluation/rank-agreement.ts): |ΔAUC|, Spearman's
 * rank correlation per group of `int8GroupSize` consecutive rows, top-K overlap.
 *
 * Used by Validate (a refused int8 tower means FP32 serving, not a rejected run: see
 * validate.ts), by `wdp quantize --check`, and by the benchmarks.
 */
import { listLogFiles, readLogChunks } from '../../data/logs.ts';
import { type RowSplit, splitRows, withSplitColumn } from '../../data/row-split.ts';
import { type RankAgreement, rankAgreement } from '../../evaluation/rank-agreement.ts';
import { sliceBatch } from '../../features/batch-ops.ts';
import type { Int8Ops } from '../../model/tower/onnx-export.ts';
import { Scorer } from '../../scoring/index.ts';
import type { ValidationThresholds } from './thresholds.ts';

export interface Int8Comparison extends RankAgreement {
  /** The two towers as Scorer ran them (e.g. 'onnxruntime-node 1.30.0 (cpu, 2 threads, int8 fused)'). */
  readonly engines: { readonly fp32: string; readonly int8: string };
}

export interface CompareInt8Options {
  readonly split?: RowSplit;
  /** Rows compared at most (the first ones of the holdout). @default 200_000 */
  readonly maxRows?: number;
  /** @default 100 */
  readonly groupSize?: number;
  /** @default 10 */
  readonly topK?: number;
  readonly int8Ops?: Int8Ops;
}

/**
 * Scores the first `maxRows` rows of `holdout` with the model's float32 and int8 towers (the
 * folder must list tower-int8.safetensors) and compares them.
 */
export async function compareInt8OnHoldout(
  modelUri: string,
  holdout: readonly string[],
  options: CompareInt8Options = {},
): Promise<Int8Comparison> {
  const maxRows = options.maxRows ?? 200_000;
  const common = { cache: false, backend: 'onnx' as const };
  const fp32 = await Scorer.load(modelUri, { ...common, precision: 'fp32' });
  let int8: Scorer | undefined;
  try {
    int8 = await Scorer.load(modelUri, { ...common, precision: 'int8', ...(options.int8Ops ? { int8Ops: options.int8Ops } : {}) });
    const files = await listLogFiles([...holdout]);
    const columns = withSplitColumn(fp32.transforms.requiredColumns(true), options.split);
    const ref: Float32Array[] = [];
    const got: Float32Array[] = [];
    const labels: Float32Array[] = [];
    let n = 0;
    let engines = { fp32: '', int8: '' };
    for await (const chunk of splitRows(readLogChunks(files, { columns }), options.split)) {
      const enc = fp32.transforms.encode(chunk, { withLabels: true, onBadRow: fp32.manifest.config.data.onBadRow });
      const batch = enc.batch.size > maxRows - n ? sliceBatch(enc.batch, 0, maxRows - n) : enc.batch;
      if (batch.size === 0) continue;
      ref.push(await fp32.model.scoreRows(batch));
      got.push(await int8.model.scoreRows(batch));
      labels.push(batch.labels!);
      n += batch.size;
      if (n >= maxRows) break;
    }
    const batchPlan = async (s: Scorer) => (await s.model.plan(new Set())).tower?.name ?? 'wide only';
    engines = { fp32: await batchPlan(fp32), int8: await batchPlan(int8) };
    const agreement = rankAgreement(concat(ref), concat(got), concat(labels), {
      ...(options.groupSize ? { groupSize: options.groupSize } : {}),
      ...(options.topK ? { topK: options.topK } : {}),
    });
    return { ...agreement, engines };
  } finally {
    fp32.dispose();
    int8?.dispose();
  }
}

function concat(xs: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(xs.reduce((s, x) => s + x.length, 0));
  let at = 0;
  for (const x of xs) {
    out.set(x, at);
    at += x.length;
  }
  return out;
}

export interface Int8Check {
  readonly name: string;
  readonly passed: boolean;
  readonly value: number | null;
  readonly threshold: string;
  readonly message: string;
}

/** The gates on a comparison, each naming its value and threshold. A NaN fails. */
export function int8Checks(t: ValidationThresholds, c: RankAgreement): Int8Check[] {
  const f = (x: number, d = 6) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
  const check = (name: string, value: number, ok: boolean, threshold: string, what: string): Int8Check => ({
    name,
    passed: ok,
    value: Number.isFinite(value) ? value : null,
    threshold,
    message: ok ? `${name}: ${what} ok` : `${name}: ${what} fails ${threshold}`,
  });
  return [
    check(
      'int8_auc_delta',
      c.aucDelta,
      Math.abs(c.aucDelta) <= t.int8MaxAucDelta,
      `|ΔAUC| ≤ ${t.int8MaxAucDelta}`,
      `int8 auc ${f(c.aucCompared)} vs float32 ${f(c.aucReference)} (Δ ${f(c.aucDelta)})`,
    ),
    check(
      'int8_rank_correlation',
      c.spearmanMean,
      c.spearmanMean >= t.int8MinRankCorrelation,
      `mean Spearman ≥ ${t.int8MinRankCorrelation}`,
      `mean Spearman ${f(c.spearmanMean)} (min ${f(c.spearmanMin)}) over ${c.groups} groups of ${c.groupSize} rows`,
    ),
    check(
      'int8_top_k_overlap',
      c.topKOverlapMean,
      c.topKOverlapMean >= t.int8MinTopKOverlap,
      `mean top-${c.topK} overlap ≥ ${t.int8MinTopKOverlap}`,
      `mean top-${c.topK} overlap ${f(c.topKOverlapMean, 4)} (min ${f(c.topKOverlapMin, 4)})`,
    ),
  ];
}
