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
import { WorkflowError } from '../errors.ts';
import { readJson, writeJson } from '../bucket/json-store.ts';

export interface ServedModel {
  readonly uri: string;
  readonly version: number;
  readonly modelId: string;
}

export interface ServingTarget {
  readonly name: string;
  /**
   * Makes `model` the one served. Idempotent: when serving already uses `model.uri`, changes
   * nothing and reports the current serving version.
   */
  point(model: ServedModel): Promise<{ readonly lambdaVersion: string | null; readonly changed: boolean }>;
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

  async point(model: ServedModel) {
    const current = await readJson(this.pointerUri, servingPointerSchema);
    if (current?.modelUri === model.uri) return { lambdaVersion: null, changed: false };
    await writeJson(this.pointerUri, { modelUri: model.uri, version: model.version, modelId: model.modelId, at: new Date().toISOString() });
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

  async point(model: ServedModel) {
    const alias = await this.#client.send(new GetAliasCommand({ FunctionName: this.#fn, Name: this.#alias }));
    if (alias.FunctionVersion) {
      const live = await this.#client.send(
        new GetFunctionConfigurationCommand({ FunctionName: this.#fn, Qualifier: alias.FunctionVersion }),
      );
      if (live.Environment?.Variables?.[MODEL_URI_ENV] === model.uri) return { lambdaVersion: alias.FunctionVersion, changed: false };
    }
    // Keep every other variable: UpdateFunctionConfiguration replaces the whole environment.
    const latest = await this.#client.send(new GetFunctionConfigurationCommand({ FunctionName: this.#fn }));
    const variables = { ...(latest.Environment?.Variables ?? {}), [MODEL_URI_ENV]: model.uri, [MODEL_VERSION_ENV]: `v${model.version}` };
    await this.#client.send(new UpdateFunctionConfigurationCommand({ FunctionName: this.#fn, Environment: { Variables: variables } }));
    await this.#waitUpdated();
    const published = await this.#client.send(
      new PublishVersionCommand({ FunctionName: this.#fn, Description: `wdp model v${model.version} (${model.modelId})`.slice(0, 256) }),
    );
    if (!published.Version) throw new WorkflowError(`PublishVersion of ${this.#fn} returned no version`);
    await this.#client.send(new UpdateAliasCommand({ FunctionName: this.#fn, Name: this.#alias, FunctionVersion: published.Version }));
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
