/**
 * Which columns the transforms read, and taking them out of a chunk: the contract between the
 * transforms and the log reader (data/row-chunk.ts says how each kind of column is held).
 */
import type { WdpConfig } from '../config/schema.ts';
import { DataError } from '../data/errors.ts';
import type { ColumnKind, ColumnValues, RowChunk } from '../data/row-chunk.ts';
import type { FeatureState, TransformState } from './state.ts';

export interface RequiredColumn {
  readonly name: string;
  readonly kind: ColumnKind;
}

/** Whether a cell is a list (an array, or a typed array), as list features take it. */
export function isListValue(v: unknown): v is ArrayLike<unknown> {
  return Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
}

/** Features the model reads, in config order. */
export function referencedFeatures(config: WdpConfig): string[] {
  const used = new Set<string>([
    ...config.wide.features,
    ...config.wide.crosses.flatMap((c) => c.features),
    ...config.deep.embeddings,
    ...config.deep.numeric,
  ]);
  return Object.keys(config.features).filter((n) => used.has(n));
}

function columnKindOf(f: { kind: FeatureState['kind'] }): ColumnKind {
  return f.kind === 'numeric' ? 'numeric' : f.kind === 'categorical' ? 'string' : 'list';
}

/** The columns fit reads for `config` (and the label, with withLabel), in config order. */
export function requiredColumnsOfConfig(config: WdpConfig, withLabel: boolean): RequiredColumn[] {
  const cols: RequiredColumn[] = referencedFeatures(config).map((name) => ({ name, kind: columnKindOf(config.features[name]!) }));
  if (withLabel) cols.push({ name: config.label, kind: 'label' });
  return cols;
}

/** The columns encode reads for a fitted state (label last, with withLabel). */
export function requiredColumnsOfState(state: TransformState, withLabel: boolean): RequiredColumn[] {
  const cols: RequiredColumn[] = Object.entries(state.features).map(([name, f]) => ({ name, kind: columnKindOf(f) }));
  if (withLabel) cols.push({ name: state.label, kind: 'label' });
  return cols;
}

/** A column of the chunk, checked present and of the chunk's length. */
export function getColumn(chunk: RowChunk, name: string): ColumnValues {
  const col = chunk.columns.get(name);
  if (col === undefined) throw new DataError({ source: chunk.source, column: name }, 'column is missing');
  if (col.length !== chunk.numRows) {
    throw new DataError({ source: chunk.source, column: name }, `column has ${col.length} values for ${chunk.numRows} rows`);
  }
  return col;
}
