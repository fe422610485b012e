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
import { parentUri, StoragePreconditionError, storeFor } from '../../storage/index.ts';
import { WorkflowError } from '../errors.ts';
import { readJsonVersioned, type VersionedJson, writeJson } from '../bucket/json-store.ts';
import { keysMarker, recordUri, resolveRecordedUri } from '../bucket/keys.ts';
import { layout, type BucketLayout } from '../bucket/layout.ts';
import { MODEL_ID_ENV, MODEL_URI_ENV, MODEL_VERSION_ENV } from '../../scoring/env-names.ts';

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
  /**
   * Move serving even from what the registry does not name, or from a pointer that cannot be
   * used (unreadable, or naming a path outside the bucket): an operator's repair
   * (`wdp models promote V --force`). Still a compare-and-swap on what was read. @default false
   */
  readonly force?: boolean;
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

export const LIVE_ALIAS = 'live';

export const servingPointerSchema = z
  .object({
    /** A bucket-relative key when `keys` says so (bucket/keys.ts), else the path as an older writer spelled it. */
    modelUri: z.string(),
    version: z.number().int(),
    modelId: z.string(),
    at: z.string(),
    keys: z.literal('bucket-relative').optional(),
  })
  .strict();
export type ServingPointer = z.output<typeof servingPointerSchema>;

/**
 * The local serving pointer (`serving/live.json`) with `modelUri` resolved under the bucket as
 * this process spells it; undefined when there is none.
 * @throws WorkflowError naming the file when it is unreadable or invalid; BucketPathError when it
 *   names a model outside the bucket
 */
export async function readServingPointer(l: BucketLayout): Promise<VersionedJson<Omit<ServingPointer, 'keys'>> | undefined> {
  const read = await readJsonVersioned(l.servingPointer, servingPointerSchema);
  if (!read) return undefined;
  const { keys: _, ...pointer } = read.value;
  return { etag: read.etag, value: { ...pointer, modelUri: resolveRecordedUri(l, pointer.modelUri, read.value, l.servingPointer) } };
}

const REPOINT_HINT =
  "it is only the local stand-in for alias `live`: `wdp models promote V --force` (V the registry's champion) points it again";

/** The local stand-in for the alias: a JSON pointer file, `serving/live.json` of a bucket. */
export class FileServingTarget implements ServingTarget {
  readonly name = 'local pointer';
  readonly #layout: BucketLayout;

  /** @param bucketUri the bucket the pointer belongs to. @default the folder two levels above the pointer (`<bucket>/serving/live.json`) */
  constructor(
    readonly pointerUri: string,
    bucketUri: string = parentUri(parentUri(pointerUri)),
  ) {
    this.#layout = { ...layout(bucketUri), servingPointer: pointerUri };
  }

  async point(model: ServedModel, options: PointOptions) {
    let current: VersionedJson<Omit<ServingPointer, 'keys'>> | undefined;
    let etag: string | undefined;
    try {
      current = await readServingPointer(this.#layout);
      etag = current?.etag;
    } catch (e) {
      if (!options.force)
        throw new WorkflowError(`${(e as Error).message}; ${REPOINT_HINT}`, {
          cause: e,
        });
      // --force: replace the unusable pointer, still only the version read.
      etag = (await storeFor(this.pointerUri).stat(this.pointerUri))?.etag;
    }
    const served = current?.value.modelUri ?? null;
    const same = current?.value.version === model.version && current.value.modelId === model.modelId;
    if (served === model.uri && same) return { lambdaVersion: null, changed: false };
    // No pointer serves nothing, so moving it replaces no model (as an empty WDP_MODEL_URI on the
    // Lambda); a pointer naming anything but the champion is refused (unless forced). One naming
    // this model with another version or model id is corrected.
    if (served !== null && served !== model.uri && served !== options.expectedUri && !options.force)
      throw mismatch(this.pointerUri, served, options.expectedUri);
    const pointer: ServingPointer = {
      modelUri: recordUri(this.#layout, model.uri, this.pointerUri),
      version: model.version,
      modelId: model.modelId,
      at: new Date().toISOString(),
      ...keysMarker(this.#layout),
    };
    try {
      await writeJson(this.pointerUri, pointer, etag !== undefined ? { ifMatch: etag } : { ifNoneMatch: '*' });
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
    // The version and its model id go with the URI: the function refuses to serve a folder that
    // holds another model (lambdas/score.ts, scoring/expected-model.ts).
    const variables = {
      ...(latest.Environment?.Variables ?? {}),
      [MODEL_URI_ENV]: model.uri,
      [MODEL_VERSION_ENV]: `v${model.version}`,
      [MODEL_ID_ENV]: model.modelId,
    };
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
