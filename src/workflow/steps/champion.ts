/**
 * Moving the champion: the one function behind the Promote step, `wdp models promote` and
 * `wdp models rollback`, so the registry and what serves (the local pointer, or alias `live`)
 * always move together and in the same order.
 *
 * Order: serving first, moved only from the registry's champion (a compare-and-swap on the alias
 * revision / pointer etag), then the registry (a compare-and-swap on its etag). A crash or a
 * failure in between leaves serving one step ahead of the registry, never the reverse; running
 * the same move again finds serving already there (point() is idempotent) and only writes the
 * registry. Moving the registry first would instead leave it naming a champion nothing serves,
 * and the next move would then refuse, as serving no longer matches the registry.
 */
import type { Logger } from '../../util/log.ts';
import { silentLogger } from '../../util/log.ts';
import { WorkflowError } from '../errors.ts';
import type { BucketLayout } from '../bucket/layout.ts';
import { type VersionedRegistry, writeRegistry } from '../bucket/state.ts';
import type { ChampionMove, Registry, RegistryEntry } from '../schemas.ts';
import type { ServedModel, ServingTarget } from './serving-target.ts';

/** Serving moved but the registry write after it failed: serving is ahead of the registry until the move is run again. */
export class RegistryBehindServingError extends WorkflowError {}

export interface MoveChampionOptions {
  readonly serving: ServingTarget;
  /** How the champion changes (recorded in the registry's championLog). */
  readonly move: Pick<ChampionMove, 'action'> & Partial<Pick<ChampionMove, 'runId' | 'by'>>;
  /** A history entry to add with the move (a run's Promote), given the Lambda version that now serves. */
  readonly entry?: (lambdaVersion: string | null) => RegistryEntry;
  /** false: only make sure serving is there (a retried Promote whose registry write already happened). @default true */
  readonly writeRegistry?: boolean;
  /** What to run to finish the move when the registry write fails after serving moved. */
  readonly retryHint: string;
  /** Move serving even from a model the registry does not name, or from an unusable pointer (PointOptions.force). @default false */
  readonly force?: boolean;
  readonly logger?: Logger;
}

export interface MoveChampionResult {
  readonly lambdaVersion: string | null;
  /** Whether serving changed now (false: it already served the model). */
  readonly servingChanged: boolean;
  /** The registry as written (or as read, when nothing was written). */
  readonly registry: Registry;
}

export async function moveChampion(
  l: BucketLayout,
  read: VersionedRegistry,
  model: ServedModel,
  options: MoveChampionOptions,
): Promise<MoveChampionResult> {
  const log = options.logger ?? silentLogger;
  const before = read.registry.champion;
  const served = await options.serving.point(model, { expectedUri: before?.uri ?? null, ...(options.force ? { force: true } : {}) });
  log.info(
    `${options.serving.name}: ${served.changed ? 'now serves' : 'already served'} v${model.version}${served.lambdaVersion ? ` (Lambda version ${served.lambdaVersion})` : ''}`,
  );
  if (options.writeRegistry === false)
    return { lambdaVersion: served.lambdaVersion, servingChanged: served.changed, registry: read.registry };

  const at = new Date().toISOString();
  const entry = options.entry?.(served.lambdaVersion);
  const logged: ChampionMove = {
    action: options.move.action,
    version: model.version,
    modelId: model.modelId,
    from: before?.version ?? null,
    ...(options.move.runId !== undefined ? { runId: options.move.runId } : {}),
    ...(options.move.by !== undefined ? { by: options.move.by } : {}),
    at,
  };
  const next: Registry = {
    ...read.registry,
    champion: { version: model.version, uri: model.uri, modelId: model.modelId },
    history: entry ? [...read.registry.history, entry] : read.registry.history,
    championLog: [...championLog(read.registry), logged],
  };
  try {
    await writeRegistry(l, next, read.etag);
  } catch (e) {
    throw new RegistryBehindServingError(
      `${options.serving.name} now serves v${model.version} (${model.uri}), but writing the registry failed: ${(e as Error).message}. The registry still names ${before ? `v${before.version}` : 'no champion'}; ${options.retryHint}`,
      { cause: e },
    );
  }
  return { lambdaVersion: served.lambdaVersion, servingChanged: served.changed, registry: next };
}

/**
 * The registry's champion changes, oldest first. A registry from before the log was kept (or one
 * rebuilt) has none: its promoted history entries, in order, each made its model champion.
 */
export function championLog(registry: Registry): ChampionMove[] {
  if (registry.championLog) return [...registry.championLog];
  const out: ChampionMove[] = [];
  for (const e of registry.history) {
    if (e.status !== 'promoted' || e.version === null) continue;
    out.push({ action: 'run', version: e.version, modelId: e.modelId, from: out.at(-1)?.version ?? null, runId: e.runId, at: e.at });
  }
  return out;
}

/**
 * The champions still "stacked" under the current one, oldest first, ending with it: each
 * promotion puts its model on top; a rollback takes the top off (the model rolled back from is
 * not returned to by the next rollback). So v1 → v2 → v3, rollback → v2, rollback → v1, and a
 * third rollback has nowhere to go; `wdp models promote 3` puts v3 back on top.
 */
export function championStack(registry: Registry): number[] {
  const stack: number[] = [];
  for (const m of championLog(registry)) {
    if (m.action === 'rollback') stack.pop();
    if (stack.at(-1) !== m.version) stack.push(m.version);
  }
  // A champion set outside the log (a registry rebuilt after a hand move of the alias) is what
  // serves now: one still on the stack was rolled back to, anything else was promoted.
  const current = registry.champion?.version;
  if (current !== undefined && stack.at(-1) !== current) {
    const at = stack.lastIndexOf(current);
    if (at >= 0) stack.length = at + 1;
    else stack.push(current);
  }
  return stack;
}

/** The version `wdp models rollback` goes back to, or null when the current champion is the first. */
export function previousChampion(registry: Registry): number | null {
  const stack = championStack(registry);
  return stack.length >= 2 ? stack[stack.length - 2]! : null;
}
