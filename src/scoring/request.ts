/**
 * Scoring requests: `{ context: {user features}, candidates: [{item features}, …], topK? }`, or
 * with the candidates as columns, `candidates: {feature: [value per candidate], …}`: the same
 * cells without a key per cell, so about half the JSON to parse at 1000 candidates, and no
 * object per candidate. Both shapes are validated by the same pass, with the same messages
 * (a cell is `candidates[i].feature` in either).
 *
 * zod checks the envelope; the cells are then checked against the model's own feature list in
 * one pass that also builds the columns the transforms read (a request of 1000 candidates has
 * tens of thousands of cells, too many for a per-cell schema on the hot path). Every message is
 * meant for the caller and names the offending field.
 *
 * Missing features (absent or null) follow the model's rules, as in training: a categorical
 * becomes its missing/OOV id, a numeric takes its default, and a numeric without a default is an
 * error naming it.
 *
 * Every name or value of the caller's that a message repeats goes through `clip` (64 characters
 * and the original length), and a message lists at most MAX_LISTED of them: the message is
 * returned in the 400 body and written to the log, so a 5 MB unknown key must not come back
 * whole (issue 9, finding 8). Names of the model's own features are not clipped.
 */
import { z } from 'zod';
import type { Cell, ColumnValues, RowChunk } from '../data/row-chunk.ts';
import type { FeatureState, TransformState } from '../features/state.ts';
import { escapeControls } from '../util/terminal-text.ts';
import { RequestError } from './errors.ts';

export interface ScoreRequest {
  /** User features shared by every candidate. */
  readonly context: Readonly<Record<string, unknown>>;
  /** Item features, one object per candidate. */
  readonly candidates: readonly Readonly<Record<string, unknown>>[];
  /** Return only the best K in `ranked`. @default all candidates */
  readonly topK?: number;
}

/** The columnar shape: one array per item feature, every array one value per candidate. */
export interface ColumnarScoreRequest {
  readonly context: Readonly<Record<string, unknown>>;
  readonly candidates: Readonly<Record<string, readonly unknown[]>>;
  readonly topK?: number;
}

/** A request in either shape, as parseEnvelope returns it. */
export type AnyScoreRequest = ScoreRequest | ColumnarScoreRequest;

/** Whether the candidates come as columns. */
export function isColumnar(req: AnyScoreRequest): req is ColumnarScoreRequest {
  return !Array.isArray(req.candidates);
}

/** How many candidates a (validated) request holds. */
export function candidateCount(req: AnyScoreRequest): number {
  if (!isColumnar(req)) return req.candidates.length;
  for (const name in req.candidates) return req.candidates[name]!.length;
  return 0;
}

export interface ScoreResponse {
  /** The modelId of the model that scored. */
  readonly modelVersion: string;
  /** Probability per candidate, in request order. */
  readonly scores: number[];
  /** Candidates by descending score (ties by index), at most topK. */
  readonly ranked: { index: number; score: number }[];
}

export interface RequestLimits {
  /** @default 1000 */
  readonly maxCandidates: number;
  /** Longest string accepted as a feature value (or a list element). @default DEFAULT_MAX_STRING_LENGTH */
  readonly maxStringLength?: number;
  /** Most elements in one list value. @default DEFAULT_MAX_LIST_LENGTH */
  readonly maxListLength?: number;
}

/**
 * 1024 characters: ids, categories and tokens are far shorter, and a longer string is either a
 * mistake or an attempt to make the vocabulary lookup and the hashing chew on megabytes.
 */
export const DEFAULT_MAX_STRING_LENGTH = 1024;

/**
 * 100,000 elements per list value: the largest `maxLength` a config may give a list feature
 * (src/config/schema.ts), so no list a model can read whole is refused. The model reads only its
 * feature's first `maxLength` elements (256 by default); a longer list is cut to that, but one far
 * beyond any model's use (a 1.4-million-element list fits in 6 MiB of JSON) is refused on its
 * length alone, before any element is looked at.
 */
export const DEFAULT_MAX_LIST_LENGTH = 100_000;

/** How many offending fields a message lists before "and N more". */
const MAX_LISTED = 10;

/** Longest piece of caller text repeated in a message. */
const MAX_ECHO = 64;

/** `text`, or its first 64 characters and its length: for caller input repeated in a message. */
export function clip(text: string, max = MAX_ECHO): string {
  // A request's own keys, echoed in its 400 and printed by `wdp invoke`: no raw control characters.
  return escapeControls(text.length <= max ? text : `${text.slice(0, max)}…(${text.length} chars)`);
}

const plainObject = (what: string) =>
  z.custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), {
    error: `${what} must be a JSON object`,
  });

const topK = z
  .number({ error: 'topK must be a positive integer' })
  .int({ error: 'topK must be a positive integer' })
  .positive({ error: 'topK must be a positive integer' })
  .optional();

// `candidates` is checked by hand (either shape), so zod sees only the envelope's own fields.
const envelope = z
  .object(
    { context: plainObject('context').optional(), candidates: z.unknown(), topK },
    { error: 'the request must be a JSON object with "candidates"' },
  )
  .strict();

const CANDIDATES_SHAPE = 'candidates must be an array of objects, or an object of equal-length arrays (one per feature)';

/**
 * Validates the envelope (shape and limits) of either request shape; cells are checked by
 * `buildColumns`.
 */
export function parseEnvelope(body: unknown, limits: RequestLimits): AnyScoreRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new RequestError('the request must be a JSON object with "candidates"');
  const cands = (body as { candidates?: unknown }).candidates;
  // Checked before zod so an oversized request costs nothing more than a length check.
  if (Array.isArray(cands) && cands.length > limits.maxCandidates) {
    throw new RequestError(`too many candidates: ${cands.length} (the limit is ${limits.maxCandidates})`);
  }
  const r = envelope.safeParse(body);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const message =
      issue.code === 'unrecognized_keys'
        ? `unknown request field(s): ${listing(issue.keys.map((k) => clip(k)))} (expected context, candidates, topK)`
        : issue.path[0] === 'candidates'
          ? 'candidates must be an array of objects'
          : issue.message;
    throw new RequestError(message);
  }
  const context = r.data.context ?? {};
  const k = r.data.topK !== undefined ? { topK: r.data.topK } : {};
  if (Array.isArray(cands)) {
    if (cands.length === 0) throw new RequestError('candidates must not be empty');
    for (let i = 0; i < cands.length; i++) {
      const c = cands[i];
      if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new RequestError(`candidates[${i}] must be a JSON object`);
    }
    return { context, candidates: cands as Record<string, unknown>[], ...k };
  }
  if (cands === undefined) throw new RequestError('candidates must be an array of objects');
  if (typeof cands !== 'object' || cands === null) throw new RequestError(CANDIDATES_SHAPE);
  return { context, candidates: checkColumns(cands as Record<string, unknown>, limits), ...k };
}

/** The columnar shape's own rules: every column an array, all of one length, within the limit. */
function checkColumns(cols: Record<string, unknown>, limits: RequestLimits): Record<string, unknown[]> {
  const names = Object.keys(cols);
  if (names.length === 0) throw new RequestError('candidates must not be empty (columnar: no feature columns)');
  const notArrays = names.filter((n) => !Array.isArray(cols[n]));
  if (notArrays.length > 0)
    throw new RequestError(
      `columnar candidates: ${listing(notArrays.map((n) => `candidates.${clip(n)} must be an array (one value per candidate), got ${typeName(cols[n])}`))}`,
    );
  const first = names[0]!;
  const B = (cols[first] as unknown[]).length;
  const ragged = names.filter((n) => (cols[n] as unknown[]).length !== B);
  if (ragged.length > 0)
    throw new RequestError(
      `columnar candidates must have one length: candidates.${clip(first)} has ${B} values but ${listing(ragged.map((n) => `candidates.${clip(n)} has ${(cols[n] as unknown[]).length}`))}`,
    );
  if (B > limits.maxCandidates) throw new RequestError(`too many candidates: ${B} (the limit is ${limits.maxCandidates})`);
  if (B === 0) throw new RequestError('candidates must not be empty');
  return cols as Record<string, unknown[]>;
}

/**
 * A categorical token: a string, a finite number or a boolean (`cellToToken` makes `true` the token
 * 'true', as the log reader does), or null for a missing value. The same for a categorical and for
 * each element of a list (a null element is dropped).
 */
const TOKEN = 'a string, number, boolean or null';

function expected(f: FeatureState): string {
  return f.kind === 'numeric'
    ? 'a number or null'
    : f.kind === 'categorical'
      ? TOKEN
      : 'an array of strings, numbers or booleans, a single string, number or boolean, or null';
}

/** JSON.parse reads a number beyond ±1.8e308 (e.g. 1e999) as ±Infinity; say so rather than "got number". */
const NOT_FINITE = 'not a finite number: JSON numbers beyond ±1.8e308, such as 1e999, overflow to Infinity';

function typeName(v: unknown): string {
  if (typeof v === 'number' && !Number.isFinite(v)) return `${v} (${NOT_FINITE})`;
  if (Array.isArray(v)) {
    const i = v.findIndex((e) => typeof e === 'number' && !Number.isFinite(e));
    return i < 0 ? 'array' : `an array with ${v[i]} at [${i}] (${NOT_FINITE})`;
  }
  return v === null ? 'null' : typeof v;
}

/** Length of the longest string in a cell (a string, or a list's strings); 0 when it has none. */
function longest(v: unknown): number {
  if (typeof v === 'string') return v.length;
  let max = 0;
  if (Array.isArray(v)) for (const e of v) if (typeof e === 'string' && e.length > max) max = e.length;
  return max;
}

function isToken(v: unknown): boolean {
  return typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean';
}

/**
 * Why a cell does not fit its feature's kind, as the rest of a message after the cell's name
 * (` must be …, got …`, or `[i] must be …` naming a list's first bad element); undefined when it
 * fits. Null/undefined always fit: a missing value (or, in a list, a dropped element).
 */
function misfit(f: FeatureState, v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (f.kind === 'numeric') return typeof v === 'number' && Number.isFinite(v) ? undefined : ` must be ${expected(f)}, got ${typeName(v)}`;
  if (f.kind === 'categorical_list' && Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const e: unknown = v[i];
      if (e !== null && e !== undefined && !isToken(e)) return `[${i}] must be ${TOKEN}, got ${typeName(e)}`;
    }
    return undefined;
  }
  return isToken(v) ? undefined : ` must be ${expected(f)}, got ${typeName(v)}`;
}

/** Whether a cell is a list longer than `max` (checked before any element is read). */
function overlong(f: FeatureState, v: unknown, max: number): v is unknown[] {
  return f.kind === 'categorical_list' && Array.isArray(v) && v.length > max;
}

const NUM = 0;
const CAT = 1;
const LIST = 2;
interface Slot {
  readonly kind: typeof NUM | typeof CAT | typeof LIST;
  readonly col: ColumnValues;
  readonly f: FeatureState;
}

export function listing(items: readonly string[]): string {
  return items.length <= MAX_LISTED ? items.join(', ') : `${items.slice(0, MAX_LISTED).join(', ')} and ${items.length - MAX_LISTED} more`;
}

export interface RequestColumns {
  /** Model features given in the context (the user side of the split). */
  readonly userFeatures: ReadonlySet<string>;
  /** The other model features: those the candidates give (or leave missing). */
  readonly itemFeatures: ReadonlySet<string>;
  /** One row: the context's values; item features hold placeholders (never read). */
  readonly contextChunk: RowChunk;
  /**
   * B rows: the item features' values, and the user features that a cross mixes with an item
   * feature, repeating the context value (the cross needs both). Encode it with
   * `features: itemFeatures`: the user's other features are not in it.
   */
  readonly candidateChunk: RowChunk;
}

/**
 * Checks every cell against the model's features and builds the two chunks the transforms encode.
 * Either request shape; a columnar request is read column by column, straight into the columns.
 * @throws RequestError naming unknown features, wrong types (a list's bad element by index),
 *   strings and lists over the length limits, features given on both sides, and numerics without
 *   a default that are missing.
 */
export function buildColumns(
  req: AnyScoreRequest,
  state: TransformState,
  limits: Pick<RequestLimits, 'maxStringLength' | 'maxListLength'> = {},
): RequestColumns {
  const features = state.features;
  const maxStr = limits.maxStringLength ?? DEFAULT_MAX_STRING_LENGTH;
  const maxList = limits.maxListLength ?? DEFAULT_MAX_LIST_LENGTH;
  const unknown: string[] = [];
  const wrong: string[] = [];
  const tooLong: string[] = [];
  const tooMany: string[] = [];
  const userFeatures = new Set<string>();
  for (const [name, v] of Object.entries(req.context)) {
    const f = Object.hasOwn(features, name) ? features[name] : undefined;
    if (!f) {
      unknown.push(`context.${clip(name)}`);
      continue;
    }
    if (overlong(f, v, maxList)) {
      tooMany.push(`context.${name} (${v.length} elements)`);
      continue;
    }
    const fault = misfit(f, v);
    if (fault !== undefined) wrong.push(`context.${name}${fault}`);
    else {
      const len = longest(v);
      if (len > maxStr) tooLong.push(`context.${name} (${len} characters)`);
      else userFeatures.add(name);
    }
  }

  // Item-side columns, filled from the candidates in one pass (the hot loop of validation:
  // one Map lookup per key and a type switch per cell).
  const B = candidateCount(req);
  const cols = new Map<string, ColumnValues>();
  const slots = new Map<string, Slot>();
  for (const [name, f] of Object.entries(features)) {
    if (Object.hasOwn(req.context, name)) continue;
    const col = f.kind === 'numeric' ? new Float64Array(B).fill(NaN) : new Array<Cell>(B).fill(null);
    cols.set(name, col);
    slots.set(name, { kind: f.kind === 'numeric' ? NUM : f.kind === 'categorical' ? CAT : LIST, col, f });
  }
  const both = new Set<string>();
  // One cell of candidate i: stored in its column, or its fault recorded.
  const put = (slot: Slot, name: string, i: number, v: unknown): void => {
    if (slot.kind === NUM) {
      if (typeof v === 'number' && Number.isFinite(v)) (slot.col as Float64Array)[i] = v;
      else if (v !== null && v !== undefined) wrong.push(`candidates[${i}].${name} must be ${expected(slot.f)}, got ${typeName(v)}`);
    } else if (slot.kind === CAT && typeof v === 'string') {
      if (v.length > maxStr) tooLong.push(`candidates[${i}].${name} (${v.length} characters)`);
      else (slot.col as Cell[])[i] = v;
    } else if (v !== null && v !== undefined) {
      if (overlong(slot.f, v, maxList)) {
        tooMany.push(`candidates[${i}].${name} (${v.length} elements)`);
        return;
      }
      const fault = misfit(slot.f, v);
      if (fault !== undefined) {
        wrong.push(`candidates[${i}].${name}${fault}`);
        return;
      }
      const len = longest(v);
      if (len > maxStr) tooLong.push(`candidates[${i}].${name} (${len} characters)`);
      else (slot.col as Cell[])[i] = v as Cell;
    }
  };
  if (isColumnar(req)) {
    for (const name in req.candidates) {
      const values = req.candidates[name]!;
      const slot = slots.get(name);
      if (slot === undefined) {
        if (Object.hasOwn(features, name)) both.add(name);
        else unknown.push(`candidates.${clip(name)}`);
        continue;
      }
      // A column parseEnvelope did not see (a caller building requests in code) must still fit.
      if (values.length !== B)
        throw new RequestError(`columnar candidates must have one length: candidates.${name} has ${values.length} values, not ${B}`);
      if (slot.kind === NUM) {
        const col = slot.col as Float64Array;
        for (let i = 0; i < B; i++) {
          const v = values[i];
          if (typeof v === 'number' && Number.isFinite(v)) col[i] = v;
          else put(slot, name, i, v);
        }
      } else for (let i = 0; i < B; i++) put(slot, name, i, values[i]);
    }
  } else {
    // Candidates usually list their keys in one order, so the previous candidate's k-th key and
    // slot are tried first: a pointer comparison of JSON.parse's internalized keys instead of a
    // Map lookup per cell (42,000 of them at the paper shape).
    const lastNames: string[] = [];
    const lastSlots: (Slot | undefined)[] = [];
    for (let i = 0; i < B; i++) {
      const cand = req.candidates[i]!;
      let k = 0;
      for (const name in cand) {
        let slot: Slot | undefined;
        if (lastNames[k] === name) slot = lastSlots[k];
        else {
          slot = slots.get(name);
          lastNames[k] = name;
          lastSlots[k] = slot;
        }
        k++;
        if (slot === undefined) {
          if (Object.hasOwn(features, name)) both.add(name);
          else unknown.push(`candidates[${i}].${clip(name)}`);
          continue;
        }
        const v = cand[name];
        // The common cells inline; anything else (and every fault) through put.
        if (slot.kind === NUM) {
          if (typeof v === 'number' && Number.isFinite(v)) {
            (slot.col as Float64Array)[i] = v;
            continue;
          }
        } else if (slot.kind === CAT && typeof v === 'string' && v.length <= maxStr) {
          (slot.col as Cell[])[i] = v;
          continue;
        }
        put(slot, name, i, v);
      }
    }
  }
  if (unknown.length > 0) throw new RequestError(`unknown feature(s): ${listing(unknown)}`);
  if (wrong.length > 0) throw new RequestError(`wrong type(s): ${listing(wrong)}`);
  if (tooLong.length > 0) throw new RequestError(`string(s) longer than the limit of ${maxStr} characters: ${listing(tooLong)}`);
  if (tooMany.length > 0) throw new RequestError(`list(s) longer than the limit of ${maxList} elements: ${listing(tooMany)}`);
  if (both.size > 0) throw new RequestError(`feature(s) given in both context and candidates: ${listing([...both])}`);

  const missing: string[] = [];
  /** Numerics absent from context and from every candidate: named once, with where to give them. */
  const absent: string[] = [];
  const ctxMissing = (n: string) => req.context[n] === null || req.context[n] === undefined;
  for (const [name, f] of Object.entries(features)) {
    if (f.kind !== 'numeric' || f.default !== undefined) continue;
    if (userFeatures.has(name)) {
      if (ctxMissing(name)) missing.push(`context.${name}`);
      continue;
    }
    const col = cols.get(name) as Float64Array;
    let count = 0;
    let first = -1;
    for (let i = 0; i < B; i++) {
      if (Number.isNaN(col[i]!)) {
        if (first < 0) first = i;
        count++;
      }
    }
    if (count === B) absent.push(name);
    else if (count > 0) missing.push(`candidates[${first}].${name}${count > 1 ? ` (and ${count - 1} more candidates)` : ''}`);
  }
  // Most such numerics describe the user or the moment (hour_of_day), so point at context first.
  if (absent.length > 0)
    missing.push(
      `${absent.join(', ')} (not in context nor in any candidate: give ${absent.length === 1 ? 'it' : 'each'} once in context, or in each candidate)`,
    );
  if (missing.length > 0) throw new RequestError(`missing value for numeric feature(s) without a default: ${listing(missing)}`);

  // User features that a cross mixes with item features must reach the candidate rows.
  const mixed = new Set<string>();
  for (const c of state.wide.crosses) {
    if (c.features.some((n) => userFeatures.has(n)) && c.features.some((n) => !userFeatures.has(n))) {
      for (const n of c.features) if (userFeatures.has(n)) mixed.add(n);
    }
  }
  const ctxCols = new Map<string, ColumnValues>();
  const itemFeatures = new Set<string>();
  for (const [name, f] of Object.entries(features)) {
    const user = userFeatures.has(name);
    if (!user) itemFeatures.add(name);
    const v = user ? req.context[name] : undefined;
    if (f.kind === 'numeric') {
      // Placeholders are 0, not NaN: a NaN would be a missing value without a default (a bad row).
      ctxCols.set(name, Float64Array.of(user && v !== null && v !== undefined ? (v as number) : user ? NaN : 0));
      if (mixed.has(name)) cols.set(name, new Float64Array(B).fill(v !== null && v !== undefined ? (v as number) : NaN));
    } else {
      ctxCols.set(name, [user ? ((v ?? null) as Cell) : null]);
      // One value in every row: the encoder looks a repeated value up once.
      if (mixed.has(name)) cols.set(name, new Array<Cell>(B).fill((v ?? null) as Cell));
    }
  }
  return {
    userFeatures,
    itemFeatures,
    contextChunk: { source: 'request context', rowOffset: 0, numRows: 1, columns: ctxCols },
    candidateChunk: { source: 'request candidates', rowOffset: 0, numRows: B, columns: cols },
  };
}
