/**
 * What `wdp tune` searches: one row per config path. A row whose path the config schema does not
 * know (a knob added later) is left out of a search and named in its record, so adding a knob to
 * the search is one row here once the schema has it.
 */
import { embeddingDimOverride, type ModelKind, parseConfig, type WdpConfig } from '../config/index.ts';
import type { Rng } from '../util/random.ts';

export type ParamValue = number | string | readonly number[];

interface DimensionBase {
  /** Dotted path into wdp.config.json, e.g. `optimizer.ftrl.alpha`. */
  readonly path: string;
  /** The model part the knob acts on: skipped when the tuned kind has no such part. */
  readonly part: 'wide' | 'deep' | 'both';
}

export type SearchDimension =
  | (DimensionBase & { readonly kind: 'log'; readonly min: number; readonly max: number })
  | (DimensionBase & { readonly kind: 'uniform'; readonly min: number; readonly max: number })
  | (DimensionBase & {
      readonly kind: 'choice';
      readonly values: readonly ParamValue[];
      /**
       * A switch worth trying on its own: besides the random draws, one trial per other value is
       * the given config with only this knob changed (`values[0]` must be the schema's default,
       * which a config that leaves the knob unset has). Random trials pair a switch with random
       * values of every other knob, so a switch that pays only on settings that already work
       * could go untried in a small search.
       */
      readonly alone?: boolean;
    });

/**
 * The default space. Ranges: FTRL's α spans the measurements (0.05 far too slow, 0.5–2
 * best) with room both ways; L1/L2 are in FTRL's own units (on batch-mean gradients, so small);
 * the tower shapes run from the Adult tutorial's size to the app-store example's.
 */
export const SEARCH_SPACE: readonly SearchDimension[] = [
  { path: 'optimizer.ftrl.alpha', part: 'wide', kind: 'log', min: 0.02, max: 5 },
  { path: 'optimizer.ftrl.beta', part: 'wide', kind: 'choice', values: [0.01, 0.1, 1] },
  { path: 'optimizer.ftrl.l1', part: 'wide', kind: 'choice', values: [0, 1e-5, 1e-4, 1e-3] },
  { path: 'optimizer.ftrl.l2', part: 'wide', kind: 'log', min: 1e-5, max: 1 },
  { path: 'optimizer.adagrad.learningRate', part: 'deep', kind: 'log', min: 0.005, max: 0.3 },
  { path: 'deep.defaultEmbeddingDim', part: 'deep', kind: 'choice', values: [4, 8, 16, 32] },
  {
    path: 'deep.hiddenUnits',
    part: 'deep',
    kind: 'choice',
    values: [
      [64, 32],
      [128, 64],
      [100, 75, 50, 25],
      [256, 128, 64],
    ],
  },
  // Regularisation knobs from issue 11 (searched once the schema has them; see the module comment).
  { path: 'deep.dropout', part: 'deep', kind: 'choice', values: [0, 0.1, 0.25, 0.5] },
  // The L2 choices are in the units where they act. embeddingL2 is a proximal step on touched rows,
  // w ← (w − η·g)/(1 + η·λ) with η ≈ lr/√acc ≲ 0.1, so λ ≤ 1e-4 shrinks a row by < 1e-5 per
  // touch: validation AUC with 1e-3 was the same as with 0 to 0.0001 on Avazu and Criteo, and
  // Adult's best was 0.01–0.03 (README, bench adult). The tower's L2 is added to batch-mean
  // gradients: 1e-2 moved validation AUC by ±0.001 on the samples, 1e-4 by nothing measurable.
  { path: 'deep.embeddingL2', part: 'deep', kind: 'choice', values: [0, 1e-3, 1e-2, 3e-2, 1e-1] },
  { path: 'deep.towerL2', part: 'deep', kind: 'choice', values: [0, 1e-4, 1e-3, 1e-2] },
  // Where the wide part starts (src/training/wide-init.ts): at the L2 logistic regression (L2 1e-3)
  // it closed most of wide & deep's gap to the regression on the Avazu sample and cost 0.002 AUC
  // on Criteo's, so it is chosen on validation like any knob (and, like any trial, replaces the
  // given config only with a lead of more than one standard error).
  { path: 'wide.init', part: 'wide', kind: 'choice', values: ['zeros', 'logistic-regression'], alone: true },
  // Tower inputs per deep numeric (piecewise-linear pieces of its quantile): on Adult's validation
  // share 8 and 16 pieces gave +0.003 to +0.005 AUC over one (README, "UCI Adult"). Not searched
  // for configs without deep numerics (inertReason).
  { path: 'deep.numericPieces', part: 'deep', kind: 'choice', values: [1, 4, 16], alone: true },
];

/** Draws one value. */
export function sampleDimension(d: SearchDimension, rng: Rng): ParamValue {
  switch (d.kind) {
    case 'log':
      return roundSig(Math.exp(Math.log(d.min) + rng.next() * (Math.log(d.max) - Math.log(d.min))));
    case 'uniform':
      return roundSig(d.min + rng.next() * (d.max - d.min));
    case 'choice':
      return d.values[rng.int(d.values.length)]!;
  }
}

/** Four significant digits: a written config stays readable and the values reproduce exactly. */
function roundSig(x: number): number {
  return Number(x.toPrecision(4));
}

/** A copy of the config (as JSON) with `path` set to `value`. */
export function withParam(config: unknown, path: string, value: ParamValue): Record<string, unknown> {
  const out = structuredClone(config) as Record<string, unknown>;
  const keys = path.split('.');
  let node = out;
  for (const k of keys.slice(0, -1)) {
    const next = node[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[k] = {};
    node = node[k] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = Array.isArray(value) ? [...value] : value;
  return out;
}

/** The config's own value at `path` as it is (any JSON), or undefined when unset there. */
function rawParam(config: WdpConfig, path: string): unknown {
  let node: unknown = config;
  for (const k of path.split('.')) {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[k];
  }
  return node;
}

/** The config's own value at `path` (as a search param), or undefined when unset there or not a param's shape. */
export function readParam(config: WdpConfig, path: string): ParamValue | undefined {
  const node = rawParam(config, path);
  if (typeof node === 'number' || typeof node === 'string') return node;
  if (Array.isArray(node) && node.every((v) => typeof v === 'number')) return [...(node as number[])];
  return undefined;
}

/** Applies every param and validates the result as a config (naming the field when a value is refused). */
export function applyParams(config: WdpConfig, params: Readonly<Record<string, ParamValue>>, source = 'tuned config'): WdpConfig {
  let raw: Record<string, unknown> = structuredClone(config) as Record<string, unknown>;
  for (const [path, value] of Object.entries(params)) raw = withParam(raw, path, value);
  return parseConfig(raw, source);
}

export interface ActiveSpace {
  readonly dimensions: readonly SearchDimension[];
  /** Rows left out, with why. */
  readonly skipped: readonly { path: string; reason: string }[];
}

/** The rows that apply to this kind of model and that this config schema accepts. */
export function activeSpace(config: WdpConfig, kind: ModelKind, space: readonly SearchDimension[] = SEARCH_SPACE): ActiveSpace {
  const dimensions: SearchDimension[] = [];
  const skipped: { path: string; reason: string }[] = [];
  for (const d of space) {
    if ((d.part === 'wide' && kind === 'deep') || (d.part === 'deep' && kind === 'wide')) {
      skipped.push({ path: d.path, reason: `no ${d.part} part in a ${kind} model` });
      continue;
    }
    const inert = inertReason(config, d.path);
    if (inert) {
      skipped.push({ path: d.path, reason: inert });
      continue;
    }
    const probe = d.kind === 'choice' ? d.values[0]! : d.min;
    try {
      applyParams(config, { [d.path]: probe });
      dimensions.push(d);
    } catch (e) {
      skipped.push({ path: d.path, reason: `the config schema refuses it (${(e as Error).message.split('\n')[0]})` });
    }
  }
  return { dimensions, skipped };
}

/**
 * Why a knob cannot change this config's model, or undefined when it can. Sampling an inert knob
 * only makes trials that differ in a value nothing reads: duplicates, costing a trial each and
 * crowding out the knobs that matter.
 */
function inertReason(config: WdpConfig, path: string): string | undefined {
  if (path === 'wide.init' && config.wide.features.length + config.wide.crosses.length === 0)
    return 'wide.features and wide.crosses are empty: the wide part has no weights to start';
  if (path === 'deep.numericPieces' && config.deep.numeric.length === 0) return 'deep.numeric is empty: no numeric feeds the tower';
  if (path === 'deep.defaultEmbeddingDim') {
    const { embeddings } = config.deep;
    if (embeddings.length === 0) return 'deep.embeddings is empty: no embedding uses it';
    if (embeddings.every((n) => embeddingDimOverride(config, n) !== undefined))
      return 'every feature in deep.embeddings sets its own deep.embeddingDims: no embedding uses it';
  }
  return undefined;
}

/**
 * The `alone` trials for `config`: the given params with one `alone` knob set to each value other
 * than the config's own (unset = `values[0]`, the default; a value no choice equals, such as a
 * `wide.init` object with its own L2, gets every choice), in space order.
 */
export function aloneTrials(
  config: WdpConfig,
  dimensions: readonly SearchDimension[],
  given: Readonly<Record<string, ParamValue>>,
): { params: Record<string, ParamValue>; change: string }[] {
  const out: { params: Record<string, ParamValue>; change: string }[] = [];
  for (const d of dimensions) {
    if (d.kind !== 'choice' || !d.alone) continue;
    const own = JSON.stringify(rawParam(config, d.path) ?? d.values[0]);
    for (const v of d.values) {
      if (JSON.stringify(v) !== own) out.push({ params: { ...given, [d.path]: v }, change: `${d.path} ${JSON.stringify(v)}` });
    }
  }
  return out;
}
