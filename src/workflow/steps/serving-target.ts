/**
 * Where Promote points serving. In AWS: the scoring Lambda — publish a version whose env
 * WDP_MODEL_URI names the model, then move alias `live` to it (older versions stay for rollback).
 * Locally: a `serving/live.json` pointer in the bucket that `wdp invoke` reads.
 */
import {
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { z } from 'zod';
import { StoragePreconditionError } from '../../storage/index.ts';
import { WorkflowError } from '../errors.ts';
import { readJsonVersioned, type VersionedJson, writeJson } from '../bucket/json-store.ts';

export interface ServedModel {
  readonly uri: string;
  readonly version: number;
  readonly modelId: string;
}

export interface PointOptions {
  /**
   * The registry's champion URI (null: none yet). Serving moves only from it: when it serves
   * anything else (a manual change, another run, a registry that lost track), point() refuses
   * with ServingMismatchError instead of replacing a model nobody validated against the registry.
   */
  readonly expectedUri: string | null;
}

export interface ServingTarget {
  readonly name: string;
  /**
   * Makes `model` the one served, moving serving only from the version it read (a compare-and-swap:
   * a concurrent move makes this fail with ServingMismatchError instead of being overwritten).
   * Idempotent: when serving already uses `model.uri`, changes nothing and reports the current
   * serving version.
   */
  point(model: ServedModel, options: PointOptions): Promise<{ readonly lambdaVersion: string | null; readonly changed: boolean }>;
}

/** Serving is not where the registry says it is, or moved while Promote was moving it. */
export class ServingMismatchError extends WorkflowError {
  constructor(
    message: string,
    options?: ErrorOptions & {
      /** The model URI serving names, when it was read (not a move lost to a concurrent one). */
      readonly served?: string | null;
    },
  ) {
    super(message, options);
    this.served = options?.served;
  }
  readonly served: string | null | undefined;
}

function mismatch(target: string, served: string | null, expected: string | null): ServingMismatchError {
  return new ServingMismatchError(
    `${target} serves ${served ?? 'no model'} but the registry's champion is ${expected ?? 'none'}; not moving serving from a model the registry does not name (check the registry, \`wdp registry rebuild\`, or point serving back at the champion)`,
    { served },
  );
}

export const MODEL_URI_ENV = 'WDP_MODEL_URI';
export const MODEL_VERSION_ENV = 'WDP_MODEL_VERSION';
export const LIVE_ALIAS = 'live';

export const servingPointerSchema = z
  .object({ modelUri: z.string(), version: z.number().int(), modelId: z.string(), at: z.string() })
  .strict();

/** The local stand-in for the alias: a JSON pointer file. */
export class FileServingTarget implements ServingTarget {
  readonly name = 'local pointer';
  constructor(readonly pointerUri: string) {}

  async point(model: ServedModel, options: PointOptions) {
    let current: VersionedJson<z.output<typeof servingPointerSchema>> | undefined;
    try {
      current = await readJsonVersioned(this.pointerUri, servingPointerSchema);
    } catch (e) {
      throw new WorkflowError(
        `${(e as Error).message}; it is only the local stand-in for alias \`live\`: remove it and run \`wdp models promote V\` (V the registry's champion) to point it again`,
        { cause: e },
      );
    }
    const served = current?.value.modelUri ?? null;
    if (served === model.uri) return { lambdaVersion: null, changed: false };
    // No pointer serves nothing, so moving it replaces no model (as an empty WDP_MODEL_URI on the
    // Lambda); a pointer naming anything but the champion is refused.
    if (served !== null && served !== options.expectedUri) throw mismatch(this.pointerUri, served, options.expectedUri);
    const pointer = { modelUri: model.uri, version: model.version, modelId: model.modelId, at: new Date().toISOString() };
    try {
      await writeJson(this.pointerUri, pointer, current ? { ifMatch: current.etag } : { ifNoneMatch: '*' });
    } catch (e) {
      if (e instanceof StoragePreconditionError)
        throw new ServingMismatchError(`${this.pointerUri} was moved by someone else while Promote was moving it; not overwriting it`, {
          cause: e,
        });
      throw e;
    }
    return { lambdaVersion: null, changed: true };
  }
}

export interface LambdaServingTargetOptions {
  readonly functionName: string;
  /** @default 'live' */
  readonly alias?: string;
  /** @default a new LambdaClient */
  readonly client?: LambdaClient;
  /** Polls while the configuration update rolls out. @default 1000 */
  readonly pollIntervalMs?: number;
  /** @default 120 */
  readonly maxPolls?: number;
}

export class LambdaServingTarget implements ServingTarget {
  readonly name: string;
  readonly #client: LambdaClient;
  readonly #fn: string;
  readonly #alias: string;
  readonly #pollMs: number;
  readonly #maxPolls: number;

  constructor(options: LambdaServingTargetOptions) {
    this.#fn = options.functionName;
    this.#alias = options.alias ?? LIVE_ALIAS;
    this.#client = options.client ?? new LambdaClient({});
    this.#pollMs = options.pollIntervalMs ?? 1000;
    this.#maxPolls = options.maxPolls ?? 120;
    this.name = `lambda ${this.#fn}:${this.#alias}`;
  }

  async point(model: ServedModel, options: PointOptions) {
    const alias = await this.#client.send(new GetAliasCommand({ FunctionName: this.#fn, Name: this.#alias }));
    if (!alias.RevisionId) throw new WorkflowError(`GetAlias ${this.name} returned no RevisionId; cannot move the alias safely`);
    let served: string | null = null;
    if (alias.FunctionVersion) {
      const live = await this.#client.send(
        new GetFunctionConfigurationCommand({ FunctionName: this.#fn, Qualifier: alias.FunctionVersion }),
      );
      served = live.Environment?.Variables?.[MODEL_URI_ENV] || null;
      if (served === model.uri) return { lambdaVersion: alias.FunctionVersion, changed: false };
    }
    // An empty WDP_MODEL_URI (a version `cdk deploy` published) serves the registry's champion itself.
    if (served !== null && served !== options.expectedUri) throw mismatch(this.name, served, options.expectedUri);
    // Keep every other variable: UpdateFunctionConfiguration replaces the whole environment.
    const latest = await this.#client.send(new GetFunctionConfigurationCommand({ FunctionName: this.#fn }));
    const variables = { ...(latest.Environment?.Variables ?? {}), [MODEL_URI_ENV]: model.uri, [MODEL_VERSION_ENV]: `v${model.version}` };
    try {
      // RevisionId: $LATEST changes only from the configuration read above.
      await this.#client.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: this.#fn,
          Environment: { Variables: variables },
          ...(latest.RevisionId ? { RevisionId: latest.RevisionId } : {}),
        }),
      );
    } catch (e) {
      if ((e as { name?: string }).name === 'PreconditionFailedException')
        throw new ServingMismatchError(`${this.#fn} was changed by someone else while Promote was updating it; not overwriting it`, {
          cause: e,
        });
      throw e;
    }
    await this.#waitUpdated();
    const published = await this.#client.send(
      new PublishVersionCommand({ FunctionName: this.#fn, Description: `wdp model v${model.version} (${model.modelId})`.slice(0, 256) }),
    );
    if (!published.Version) throw new WorkflowError(`PublishVersion of ${this.#fn} returned no version`);
    // Whatever raced between the update and the publish, the version about to go live must carry
    // this model: a version holding another run's environment is never moved to.
    const carried = published.Environment?.Variables?.[MODEL_URI_ENV];
    if (carried !== model.uri)
      throw new ServingMismatchError(
        `version ${published.Version} of ${this.#fn} carries ${MODEL_URI_ENV}=${carried ?? '(unset)'}, not ${model.uri}: $LATEST changed between Promote's update and its publish; the alias was not moved`,
      );
    try {
      // RevisionId: the alias moves only from the revision read above; a concurrent move fails here.
      await this.#client.send(
        new UpdateAliasCommand({
          FunctionName: this.#fn,
          Name: this.#alias,
          FunctionVersion: published.Version,
          RevisionId: alias.RevisionId,
        }),
      );
    } catch (e) {
      if ((e as { name?: string }).name === 'PreconditionFailedException')
        throw new ServingMismatchError(
          `alias ${this.name} was moved by someone else while Promote was moving it (revision ${alias.RevisionId} is gone); not overwriting it. Version ${published.Version} is published but not live`,
          { cause: e },
        );
      throw e;
    }
    return { lambdaVersion: published.Version, changed: true };
  }

  /** PublishVersion fails while LastUpdateStatus is InProgress, so wait for it to settle. */
  async #waitUpdated(): Promise<void> {
    for (let i = 0; i < this.#maxPolls; i++) {
      const c = await this.#client.send(new GetFunctionConfigurationCommand({ FunctionName: this.#fn }));
      if (c.LastUpdateStatus === 'Successful' || c.LastUpdateStatus === undefined) return;
      if (c.LastUpdateStatus === 'Failed')
        throw new WorkflowError(`updating ${this.#fn} failed: ${c.LastUpdateStatusReason ?? 'no reason given'}`);
      await new Promise((r) => setTimeout(r, this.#pollMs));
    }
    throw new WorkflowError(`updating ${this.#fn} did not finish after ${this.#maxPolls} polls`);
  }
}
