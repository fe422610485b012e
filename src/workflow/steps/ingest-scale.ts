/**
 * Ingest's warning for a numeric column whose scale jumped (prices in cents where the champion
 * saw dollars, a sensor switched to milli-units). Such a file trains without any error: the
 * quantile transform sends every value past its last cut to the top bucket, so the model quietly
 * loses the feature. It is a warning, not a rejection — a real shift in the data looks the same —
 * named in the run's result (and `npm start`'s summary) so someone looks.
 *
 * Cheap by design: the new files' ranges come from the Parquet footer statistics Ingest has read
 * already; what the champion saw is its fitted quantile cuts (its manifest, one small read) and
 * the footer statistics of the newest trained file, which Ingest also reads already (its range
 * widens the cuts, which stop short of the tails, so a heavy tail alone raises nothing).
 */
import type { ColumnFacts } from '../../data/logs.ts';
import type { TransformState } from '../../features/state.ts';
import { readManifest } from '../../model/manifest.ts';
import type { Logger } from '../../util/log.ts';
import type { ChampionRef, FileRef, ScaleWarning } from '../schemas.ts';

/**
 * How many times the fitted range's scale (its width, or its magnitude when wider) a file's values
 * may lie beyond that range before it warns. A unit change of ×100 (cents for dollars) puts the
 * new maximum about 99 scales past the old one, ×1000 about 999: 20 catches both with margin,
 * while a day whose maximum is a few times the last trained day's stays far below it.
 */
export const SCALE_JUMP_FACTOR = 20;

/** What the champion saw of one numeric column. */
export interface FittedRange {
  readonly min: number;
  readonly max: number;
}

/**
 * Per numeric feature of the champion, the range it was fitted on: its quantile cuts (and the wide
 * boundaries when those were fitted too, not given), widened by `trained`'s statistics (the newest
 * file a finished run read) when there are any. Features with no cut are left out: nothing to compare.
 */
export function fittedRanges(transforms: TransformState, trained?: ReadonlyMap<string, ColumnFacts>): Map<string, FittedRange> {
  const ranges = new Map<string, FittedRange>();
  for (const [name, f] of Object.entries(transforms.features)) {
    if (f.kind !== 'numeric') continue;
    const fitted = [...f.quantileCuts, ...(f.wideBuckets !== null ? f.boundaries : [])];
    const seen = trained?.get(name);
    const values = [...fitted, ...(seen?.min !== undefined ? [seen.min] : []), ...(seen?.max !== undefined ? [seen.max] : [])].filter(
      Number.isFinite,
    );
    if (fitted.length === 0 || values.length === 0) continue;
    ranges.set(name, { min: Math.min(...values), max: Math.max(...values) });
  }
  return ranges;
}

/**
 * The files whose statistics put a numeric column further than SCALE_JUMP_FACTOR × the fitted
 * range's scale (its width, or its magnitude when wider) beyond that range, in either direction.
 * @param champion how the champion is named in the message (e.g. `v3`)
 */
export function scaleWarnings(
  files: readonly { readonly file: FileRef; readonly facts: ReadonlyMap<string, ColumnFacts> }[],
  fitted: ReadonlyMap<string, FittedRange>,
  champion: string,
): ScaleWarning[] {
  const warnings: ScaleWarning[] = [];
  for (const { file, facts } of files) {
    for (const [column, range] of fitted) {
      const found = facts.get(column);
      if (found?.min === undefined || found.max === undefined) continue;
      // A zero-width range at 0 (a column that was always 0) has no scale to compare with.
      const scale = Math.max(range.max - range.min, Math.abs(range.min), Math.abs(range.max));
      if (!(scale > 0)) continue;
      const limit = SCALE_JUMP_FACTOR * scale;
      if (found.max <= range.max + limit && found.min >= range.min - limit) continue;
      warnings.push({
        uri: file.uri,
        column,
        message: `column "${column}": values from ${found.min} to ${found.max} (file statistics) lie far outside the range champion ${champion} was fitted on, ${range.min} to ${range.max} (more than ${SCALE_JUMP_FACTOR}× its scale beyond it): a unit change (cents for dollars)? Values past the fitted range all fall in its last quantile bucket`,
      });
    }
  }
  return warnings;
}

/**
 * The scale warnings for this run's new files against the champion (none without a champion).
 * A champion whose manifest cannot be read only skips the check, with a warning in the log: it is
 * advice, and Validate reads the champion anyway and fails there if it is really gone.
 */
export async function championScaleWarnings(
  champion: ChampionRef | null,
  files: readonly { readonly file: FileRef; readonly facts: ReadonlyMap<string, ColumnFacts> }[],
  trained: ReadonlyMap<string, ColumnFacts> | undefined,
  log: Logger,
): Promise<ScaleWarning[]> {
  if (!champion || files.length === 0) return [];
  let transforms: TransformState;
  try {
    transforms = (await readManifest(champion.uri)).transforms;
  } catch (e) {
    log.warn(`numeric scale check skipped: the champion's manifest (${champion.uri}) could not be read: ${(e as Error).message}`);
    return [];
  }
  const warnings = scaleWarnings(files, fittedRanges(transforms, trained), `v${champion.version}`);
  for (const w of warnings) log.warn(`${w.uri}: ${w.message}`);
  return warnings;
}
