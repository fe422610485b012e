/**
 * Warm start: a new model begins from its parent's weights and optimizer state. Vocabularies
 * are re-fitted on the new data, so rows carry over BY TOKEN, not by index (what TensorFlow's
 * VocabInfo / warm_start remapping does); tokens new to the vocabulary start fresh. Hashed,
 * bucketized and crossed segments carry over by index when their signature is unchanged.
 */
import { Ftrl } from '../model/sparse/ftrl.ts';
import { createTable, type SparseTable } from '../model/sparse/sparse-table.ts';
import type { StoredModel } from '../model/stored-model.ts';
import { freshState, hasDeep, type WideDeepSpec, type WideDeepState } from '../model/wide-deep.ts';
import type { FeatureTransforms } from '../features/transforms.ts';
import type { DeepLayout } from '../features/encoded-batch.ts';

export interface WarmStartReport {
  /** Per wide segment / embedding: how its rows were initialised. */
  readonly parts: {
    name: string;
    part: 'wide' | 'embedding' | 'tower';
    how: 'by-token' | 'by-index' | 'fresh';
    carriedRows: number;
    rows: number;
  }[];
}

/** Copies row `from` of `src` (weights and every slot both tables share) into row `to` of `dst`. */
function copyRow(src: SparseTable, from: number, dst: SparseTable, to: number): void {
  const d = dst.dim;
  dst.weights.set(src.weights.subarray(from * d, (from + 1) * d), to * d);
  for (const [slot, data] of Object.entries(dst.slots)) {
    const s = src.slots[slot];
    if (s) data.set(s.subarray(from * d, (from + 1) * d), to * d);
  }
}

/**
 * Maps `rows` rows of the child's table [childOffset, childOffset+rows) from the parent's
 * [parentOffset, …) by token or index. Returns how and how many rows carried over.
 */
function carry(
  name: string,
  parent: { table: SparseTable; offset: number; transforms: FeatureTransforms },
  child: { table: SparseTable; offset: number; rows: number; transforms: FeatureTransforms },
): { how: 'by-token' | 'by-index' | 'fresh'; carried: number } {
  const sigP = parent.transforms.segmentSignature(name);
  const sigC = child.transforms.segmentSignature(name);
  if (sigP === 'vocab' && sigC === 'vocab') {
    const parentTokens = parent.transforms.vocabTokens(name) ?? [];
    const childTokens = child.transforms.vocabTokens(name) ?? [];
    const parentId = new Map<string, number>();
    parentTokens.forEach((t, i) => {
      if (i > 0) parentId.set(t, i);
    });
    // Row 0 is the OOV bucket in both: it carries over as the OOV bucket.
    copyRow(parent.table, parent.offset, child.table, child.offset);
    let carried = 1;
    for (let i = 1; i < childTokens.length; i++) {
      const p = parentId.get(childTokens[i]!);
      if (p !== undefined) {
        copyRow(parent.table, parent.offset + p, child.table, child.offset + i);
        carried++;
      }
    }
    return { how: 'by-token', carried };
  }
  if (sigP === sigC && sigP !== undefined) {
    for (let i = 0; i < child.rows; i++) copyRow(parent.table, parent.offset + i, child.table, child.offset + i);
    return { how: 'by-index', carried: child.rows };
  }
  return { how: 'fresh', carried: 0 };
}

/** The child's initial state, taken from the parent wherever names and signatures allow. */
export function warmStartState(
  parent: StoredModel,
  spec: WideDeepSpec,
  transforms: FeatureTransforms,
): { state: WideDeepState; report: WarmStartReport } {
  const fresh = freshState(spec);
  const parts: WarmStartReport['parts'] = [];

  const bias = createTable(1, 1, new Ftrl(spec.ftrl));
  copyRow(parent.state.bias, 0, bias, 0);

  if (fresh.wide && parent.state.wide) {
    const parentSegments = new Map(parent.transforms.wideLayout.segments.map((s) => [s.name, s]));
    for (const seg of spec.wideLayout.segments) {
      const ps = parentSegments.get(seg.name);
      const r = ps
        ? carry(
            seg.name,
            { table: parent.state.wide, offset: ps.offset, transforms: parent.transforms },
            { table: fresh.wide, offset: seg.offset, rows: seg.size, transforms },
          )
        : { how: 'fresh' as const, carried: 0 };
      parts.push({ name: seg.name, part: 'wide', how: r.how, carriedRows: r.carried, rows: seg.size });
    }
  }

  const embeddings = new Map(fresh.embeddings);
  if (hasDeep(spec.kind)) {
    for (const e of spec.deepLayout.embeddings) {
      const pt = parent.state.embeddings.get(e.feature);
      const table = embeddings.get(e.feature)!;
      let r: { how: 'by-token' | 'by-index' | 'fresh'; carried: number } = { how: 'fresh', carried: 0 };
      if (pt && pt.dim === e.dim) {
        r = carry(e.feature, { table: pt, offset: 0, transforms: parent.transforms }, { table, offset: 0, rows: e.vocabSize, transforms });
      }
      parts.push({ name: e.feature, part: 'embedding', how: r.how, carriedRows: r.carried, rows: e.vocabSize });
    }
  }

  let tower = undefined as WideDeepState['tower'];
  const pt = parent.state.tower;
  if (hasDeep(spec.kind) && pt) {
    // By index only when every input column means what it meant to the parent: the same
    // embeddings (feature and dimension) and numeric columns in the same order. The same width
    // alone is not enough (a numeric fed in 4 pieces and 4 numerics of one piece both take 4).
    const pl = parent.transforms.deepLayout;
    const columns = (l: DeepLayout) => JSON.stringify([l.embeddings.map((e) => [e.feature, e.dim]), l.numeric]);
    const same =
      pt.shape.inputDim === spec.deepLayout.inputDim &&
      pt.shape.hiddenUnits.join() === spec.hiddenUnits.join() &&
      columns(pl) === columns(spec.deepLayout);
    if (same) tower = pt;
    parts.push({ name: 'tower', part: 'tower', how: same ? 'by-index' : 'fresh', carriedRows: same ? 1 : 0, rows: 1 });
  }
  return {
    state: { bias, ...(fresh.wide ? { wide: fresh.wide } : {}), embeddings, ...(tower ? { tower } : {}) },
    report: { parts },
  };
}
