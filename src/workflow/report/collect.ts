/**
 * Gathers a run report's input from what Validate has at hand (the run manifest, the validation
 * report, samples of the holdout predictions) and from the bucket (the candidate's and the
 * parent's manifests, one pass over the holdout, one over the training days' labels), and writes
 * report.html beside validation.json. A report is for people: `writeRunReport` never throws, so
 * a report that cannot be built costs a warning, never the run.
 */
import { listLogFiles, readLogChunks } from '../../data/logs.ts';
import type { RowChunk } from '../../data/row-chunk.ts';
import { splitRows, withSplitColumn, type RowSplit } from '../../data/row-split.ts';
import { requiredColumnsOfState } from '../../features/columns.ts';
import type { TransformState } from '../../features/state.ts';
import { FeatureTransforms } from '../../features/transforms.ts';
import { reliabilityBins, rocPoints } from '../../evaluation/plots.ts';
import { readManifest, trainingHistory, type ModelManifest } from '../../model/manifest.ts';
import { storeFor } from '../../storage/index.ts';
import { Rng } from '../../util/random.ts';
import type { Logger } from '../../util/log.ts';
import { layout } from '../bucket/layout.ts';
import type { RunManifest, ValidationReport } from '../schemas.ts';
import {
  CategoricalBucketCounter,
  categoricalPsi,
  numericDrift,
  QuantileBucketCounter,
  vocabularyChange,
  type VocabularyChange,
} from './drift.ts';
import { buildRunReport, type ReportModel, type RunReportInput } from './run-report.ts';

/** Predictions kept per model for the ROC and calibration charts. */
const DEFAULT_SAMPLE = 200_000;
/** Rows of the parent's training data read as the reference for categorical and tied numeric PSI. */
const PARENT_SAMPLE_ROWS = 200_000;

/**
 * A uniform sample of (prediction, label) pairs as they stream past (reservoir, seeded): the
 * charts of a holdout of millions of rows need no more than this, and memory stays bounded.
 */
export class PredictionSample {
  readonly #capacity: number;
  readonly #probs: Float32Array;
  readonly #labels: Float32Array;
  readonly #rng = new Rng(0x9e90);
  #seen = 0;

  constructor(capacity = DEFAULT_SAMPLE) {
    this.#capacity = capacity;
    this.#probs = new Float32Array(capacity);
    this.#labels = new Float32Array(capacity);
  }

  add(probs: ArrayLike<number>, labels: ArrayLike<number>): void {
    for (let i = 0; i < probs.length; i++) {
      const n = this.#seen++;
      const j = n < this.#capacity ? n : this.#rng.int(n + 1);
      if (j < this.#capacity) {
        this.#probs[j] = probs[i]!;
        this.#labels[j] = labels[i]!;
      }
    }
  }

  get size(): number {
    return Math.min(this.#seen, this.#capacity);
  }

  curves(): Pick<ReportModel, 'roc' | 'reliability'> {
    const p = this.#probs.subarray(0, this.size);
    const y = this.#labels.subarray(0, this.size);
    return { roc: rocPoints(p, y, 300), reliability: reliabilityBins(p, y, 10) };
  }
}

export interface RunReportSources {
  readonly run: RunManifest;
  readonly validation: ValidationReport;
  readonly candidatePredictions?: PredictionSample;
  readonly championPredictions?: PredictionSample;
  /** What Promote or Reject will do with the run's days (steps/days.ts `daysAfterValidation`). */
  readonly days: RunReportInput['days'];
  readonly now?: Date;
}

/** Reads what the report shows. Parts that cannot be read become notes in the report. */
export async function collectRunReport(s: RunReportSources): Promise<RunReportInput> {
  const { run, validation: v } = s;
  const notes: string[] = [];
  const candidate = await readManifest(run.candidateUri);
  let parent: ModelManifest | null = null;
  if (candidate.parent) {
    try {
      parent = await readManifest(candidate.parent.uri);
    } catch (e) {
      notes.push(
        `the parent model ${candidate.parent.uri} could not be read (${(e as Error).message}): no comparison with its vocabularies and quantiles`,
      );
    }
  }
  const split = run.split ? { ...run.split } : undefined;
  const holdout = await holdoutPass(run.holdout, candidate.transforms, parent?.transforms ?? null, split && { ...split, take: 'holdout' });
  let reference: ReferenceCounts | null = null;
  if (parent) {
    try {
      reference = await parentSamplePass(parent, holdout);
    } catch (e) {
      notes.push(
        `the parent's training data could not be read (${(e as Error).message}): categorical PSI is left out and numeric features with tied quantiles assume equal shares`,
      );
    }
    if (reference && reference.rows === 0) {
      notes.push(
        `none of the parent's training files is still there: categorical PSI is left out and numeric features with tied quantiles assume equal shares`,
      );
      reference = null;
    }
  }
  const numericDrifts = [...holdout.nums].map(([name, counter]) => {
    const pf = parent!.transforms.features[name]!;
    return numericDrift(name, pf.kind === 'numeric' ? pf : { quantiles: 2, quantileCuts: [] }, counter, reference?.nums.get(name));
  });
  const trainDays = await trainDayPass(run, candidate.transforms.label, split && { ...split, take: 'train' });

  const history = trainingHistory(candidate);
  const num = (x: unknown) => (typeof x === 'number' ? x : undefined);
  const wideSegments = FeatureTransforms.fromState(candidate.transforms).wideLayout.size;

  const vocabulary: (VocabularyChange & { psi: number | null })[] = [];
  if (parent) {
    for (const [name, f] of Object.entries(candidate.transforms.features)) {
      const pf = parent.transforms.features[name];
      if (f.kind !== 'numeric' && f.tokens && pf && pf.kind !== 'numeric' && pf.tokens) {
        const ref = reference?.cats.get(name);
        const mine = holdout.catBuckets.get(name);
        vocabulary.push({ ...vocabularyChange(name, pf.tokens, f.tokens), psi: ref && mine ? categoricalPsi(ref, mine) : null });
      }
    }
  }

  const champ = v.champion;
  const parentVersion = champ && candidate.parent && champ.modelId === candidate.parent.modelId ? champ.version : null;
  const training = candidate.training;

  return {
    runId: run.runId,
    createdAt: (s.now ?? new Date()).toISOString(),
    passed: v.passed,
    checks: v.checks,
    candidate: {
      name: 'candidate',
      modelId: candidate.modelId,
      uri: run.candidateUri,
      metrics: v.candidateMetrics,
      ...(s.candidatePredictions?.size ? s.candidatePredictions.curves() : { roc: [], reliability: [] }),
    },
    champion:
      champ && v.championMetrics
        ? {
            name: `champion v${champ.version}`,
            version: champ.version,
            modelId: champ.modelId,
            uri: champ.uri,
            metrics: v.championMetrics,
            ...(s.championPredictions?.size ? s.championPredictions.curves() : { roc: [], reliability: [] }),
          }
        : null,
    dryRun: v.dryRun,
    training: {
      lossCurve: history.lossCurve ?? [],
      validationCurve: history.validationCurve ?? [],
      ...(history.bestEpoch !== undefined ? { bestEpoch: history.bestEpoch } : {}),
      ...(history.examplesPerSecond !== undefined ? { examplesPerSecond: history.examplesPerSecond } : {}),
      ...(num(training['trainSeconds']) !== undefined ? { trainSeconds: num(training['trainSeconds'])! } : {}),
      ...(num(training['epochs']) !== undefined ? { epochs: num(training['epochs'])! } : {}),
      ...(typeof training['backend'] === 'string' ? { backend: training['backend'] } : {}),
      rows: candidate.trainedOn.rows,
      skippedRows: candidate.trainedOn.skippedRows,
    },
    trainDays,
    holdout: { days: run.partitions.holdout, rows: holdout.rows, positives: holdout.positives },
    oov: holdout.oov,
    vocabulary,
    numericDrift: numericDrifts,
    ...(reference ? { referenceRows: reference.rows } : {}),
    sparsity: {
      ...(num(candidate.metrics['wideZeroFraction']) !== undefined
        ? { wideZeroFraction: num(candidate.metrics['wideZeroFraction'])! }
        : {}),
      ...(num(candidate.metrics['wideTouchedZeroFraction']) !== undefined
        ? { wideTouchedZeroFraction: num(candidate.metrics['wideTouchedZeroFraction'])! }
        : {}),
      wideCoordinates: wideSegments,
    },
    lineage: {
      parent: candidate.parent ? { version: parentVersion, modelId: candidate.parent.modelId, uri: candidate.parent.uri } : null,
      lateFiles: (run.late ?? []).map((f) => f.uri),
      quarantined: (run.quarantined ?? []).map((q) => ({ uri: q.uri, reason: q.reason })),
      skipped: run.skippedFiles ?? [],
    },
    days: s.days,
    notes,
  };
}

interface HoldoutStats {
  rows: number;
  positives: number;
  oov: RunReportInput['oov'];
  /** The holdout's values over the parent's quantile buckets, per numeric feature both models have. */
  nums: Map<string, QuantileBucketCounter>;
  /** The holdout's tokens over the parent's top tokens, per vocabulary feature both models have. */
  catBuckets: Map<string, CategoricalBucketCounter>;
}

interface ReferenceCounts {
  rows: number;
  nums: Map<string, QuantileBucketCounter>;
  cats: Map<string, CategoricalBucketCounter>;
}

/**
 * Counts a sample of the parent's training rows (its manifest's trainedOn.files, in order, up to
 * PARENT_SAMPLE_ROWS) into the same buckets as the holdout: categoricals, and the numerics whose
 * tied quantiles leave the equal shares untrue. Files no longer in the bucket are skipped.
 */
async function parentSamplePass(parent: ModelManifest, holdout: HoldoutStats): Promise<ReferenceCounts> {
  const nums = new Map<string, QuantileBucketCounter>();
  for (const [name, c] of holdout.nums) {
    const pf = parent.transforms.features[name];
    if (pf?.kind === 'numeric' && pf.quantileCuts.length < pf.quantiles - 1) nums.set(name, new QuantileBucketCounter(c.cuts));
  }
  const cats = new Map<string, CategoricalBucketCounter>();
  for (const name of holdout.catBuckets.keys()) {
    const pf = parent.transforms.features[name];
    if (pf && pf.kind !== 'numeric' && pf.tokens) cats.set(name, new CategoricalBucketCounter(pf.tokens));
  }
  const present: string[] = [];
  for (const f of parent.trainedOn.files) if (await storeFor(f.uri).stat(f.uri)) present.push(f.uri);
  let rows = 0;
  if (present.length === 0 || (nums.size === 0 && cats.size === 0)) return { rows, nums, cats };
  const columns = requiredColumnsOfState(parent.transforms, false).filter((c) => nums.has(c.name) || cats.has(c.name));
  for await (const chunk of readLogChunks(await listLogFiles(present), { columns })) {
    const take = Math.min(chunk.numRows, PARENT_SAMPLE_ROWS - rows);
    for (const [name, c] of cats) forEachToken(chunk, name, c.add.bind(c), take);
    for (const [name, counter] of nums) {
      const col = chunk.columns.get(name) as ArrayLike<number>;
      for (let i = 0; i < take; i++) counter.add(col[i]!);
    }
    rows += take;
    if (rows >= PARENT_SAMPLE_ROWS) break;
  }
  return { rows, nums, cats };
}

async function holdoutPass(
  uris: readonly string[],
  cand: TransformState,
  parent: TransformState | null,
  split: RowSplit | undefined,
): Promise<HoldoutStats> {
  const files = await listLogFiles([...uris]);
  const cats = new Map<
    string,
    { vocab: Set<string> | null; parentVocab: Set<string> | null; tokens: number; oov: number; parentOov: number }
  >();
  const nums = new Map<string, QuantileBucketCounter>();
  const catBuckets = new Map<string, CategoricalBucketCounter>();
  for (const [name, f] of Object.entries(cand.features)) {
    const pf = parent?.features[name];
    if (f.kind === 'numeric') {
      if (pf?.kind === 'numeric') nums.set(name, new QuantileBucketCounter(pf.quantileCuts));
    } else {
      const pTokens = pf && pf.kind !== 'numeric' && pf.tokens ? new Set(pf.tokens) : null;
      cats.set(name, { vocab: f.tokens ? new Set(f.tokens) : null, parentVocab: pTokens, tokens: 0, oov: 0, parentOov: 0 });
      if (f.tokens && pf && pf.kind !== 'numeric' && pf.tokens) catBuckets.set(name, new CategoricalBucketCounter(pf.tokens));
    }
  }
  let rows = 0;
  let positives = 0;
  const columns = withSplitColumn(requiredColumnsOfState(cand, true), split);
  for await (const chunk of splitRows(readLogChunks(files, { columns }), split)) {
    rows += chunk.numRows;
    const labels = chunk.columns.get(cand.label) as ArrayLike<number>;
    for (let i = 0; i < chunk.numRows; i++) if (labels[i] === 1) positives++;
    for (const [name, c] of cats) {
      if (!c.vocab) continue;
      const buckets = catBuckets.get(name);
      forEachToken(chunk, name, (t) => {
        c.tokens++;
        if (!c.vocab!.has(t)) c.oov++;
        if (c.parentVocab && !c.parentVocab.has(t)) c.parentOov++;
        buckets?.add(t);
      });
    }
    for (const [name, counter] of nums) {
      const col = chunk.columns.get(name) as ArrayLike<number>;
      for (let i = 0; i < chunk.numRows; i++) counter.add(col[i]!);
    }
  }
  const oov = [...cats].map(([feature, c]) => ({
    feature,
    tokens: c.tokens,
    share: c.tokens ? c.oov / c.tokens : Number.NaN,
    parentShare: c.parentVocab && c.tokens ? c.parentOov / c.tokens : null,
    hashed: c.vocab === null,
  }));
  return { rows, positives, oov, nums, catBuckets };
}

/** Calls `fn` with every present token of a categorical or list column of the log reader (first `rows` rows). */
function forEachToken(chunk: RowChunk, name: string, fn: (token: string) => void, rows = chunk.numRows): void {
  const col = chunk.columns.get(name) as ArrayLike<string | readonly string[] | null> | undefined;
  if (!col) return;
  for (let i = 0; i < rows; i++) {
    const v = col[i];
    if (v === null || v === undefined) continue;
    if (typeof v === 'string') fn(v);
    else for (const t of v) fn(t);
  }
}

async function trainDayPass(run: RunManifest, label: string, split: RowSplit | undefined): Promise<RunReportInput['trainDays']> {
  const files = await listLogFiles([...run.data]);
  const byDay = new Map<string, { rows: number; positives: number }>();
  const columns = withSplitColumn([{ name: label, kind: 'label' }], split);
  for (const file of files) {
    const day = file.partition ?? 'no partition';
    const d = byDay.get(day) ?? { rows: 0, positives: 0 };
    byDay.set(day, d);
    for await (const chunk of splitRows(readLogChunks([file], { columns }), split)) {
      d.rows += chunk.numRows;
      const labels = chunk.columns.get(label) as ArrayLike<number>;
      for (let i = 0; i < chunk.numRows; i++) if (labels[i] === 1) d.positives++;
    }
  }
  return [...byDay].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([day, d]) => ({ day, ...d }));
}

/**
 * Builds the run report and writes it beside validation.json. Never throws: a failure is logged
 * as a warning and the run goes on. Returns the report's URI, or undefined when none was written.
 */
export async function writeRunReport(s: RunReportSources, log: Logger): Promise<string | undefined> {
  const uri = layout(s.run.bucketUri).runReport(s.run.candidateUri);
  try {
    const page = await buildRunReport(await collectRunReport(s));
    await storeFor(uri).write(uri, page);
    log.info(`run report: ${uri} (${(Buffer.byteLength(page) / 1024).toFixed(0)} KB)`);
    return uri;
  } catch (e) {
    log.warn(`the run report ${uri} was not written (the run goes on): ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
}
