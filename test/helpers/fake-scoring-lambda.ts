/**
 * The scoring Lambda function as LambdaServingTarget sees it, behind aws-sdk-client-mock: published
 * versions, the $LATEST environment and the `live` alias with its RevisionId, kept in one mutable
 * object that tests read and change (move `live` behind Promote's back, fail the alias update, …).
 * The Promote handler tests and the `wdp models --remote` tests share it so both run against the
 * same Lambda semantics.
 */
import {
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  type LambdaClient,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import type { AwsClientStub } from 'aws-sdk-client-mock';

export interface FakeScoringLambda {
  /** Published version → its environment (version '1' exists from the start). */
  readonly versions: Map<string, Record<string, string>>;
  latestEnv: Record<string, string>;
  /** The version the `live` alias points at. */
  live: string;
  /** The alias's revision (`rev-N`): changes on every move, as Lambda's RevisionId does. */
  revision: number;
  /** The RevisionId GetFunctionConfiguration returns ($LATEST's, which Promote sends back on update). */
  functionRevisionId: string;
  /** Called with `publish V` and `alias → V` as serving moves (the test adds its own context). */
  onEvent: ((e: string) => void) | null;
  /** Thrown by the next UpdateAlias calls while set (before the revision check). */
  failAlias: Error | null;
  /** Called right after the alias moved, before UpdateAlias returns. */
  afterAlias: (() => void) | null;
  /** What PublishVersion does: snapshot $LATEST as the next version (for tests that wrap it). */
  publish(): { Version: string; Environment: { Variables: Record<string, string> } };
}

/** Resets `mock` and installs the fake function on it, with `initialEnv` as version 1 and $LATEST, `live` → 1. */
export function fakeScoringLambda(mock: AwsClientStub<LambdaClient>, initialEnv: Record<string, string>): FakeScoringLambda {
  mock.reset();
  const fn: FakeScoringLambda = {
    versions: new Map([['1', { ...initialEnv }]]),
    latestEnv: { ...initialEnv },
    live: '1',
    revision: 1,
    functionRevisionId: 'fn-rev',
    onEvent: null,
    failAlias: null,
    afterAlias: null,
    publish() {
      const v = String(fn.versions.size + 1);
      fn.versions.set(v, { ...fn.latestEnv });
      fn.onEvent?.(`publish ${v}`);
      return { Version: v, Environment: { Variables: { ...fn.latestEnv } } };
    },
  };
  mock.on(GetAliasCommand).callsFake(() => ({ FunctionVersion: fn.live, RevisionId: `rev-${fn.revision}` }));
  mock.on(GetFunctionConfigurationCommand).callsFake((i: { Qualifier?: string }) => ({
    Environment: { Variables: i.Qualifier ? fn.versions.get(i.Qualifier) : fn.latestEnv },
    LastUpdateStatus: 'Successful',
    RevisionId: fn.functionRevisionId,
  }));
  mock.on(UpdateFunctionConfigurationCommand).callsFake((i: { Environment: { Variables: Record<string, string> } }) => {
    fn.latestEnv = i.Environment.Variables;
    return {};
  });
  mock.on(PublishVersionCommand).callsFake(() => fn.publish());
  mock.on(UpdateAliasCommand).callsFake((i: { FunctionVersion: string; RevisionId?: string }) => {
    if (fn.failAlias) throw fn.failAlias;
    // Stricter than Lambda, which moves unconditionally without a RevisionId: LambdaServingTarget
    // always sends one, so a missing RevisionId counts as a mismatch and a regression fails loudly.
    if (i.RevisionId !== `rev-${fn.revision}`)
      throw Object.assign(new Error('The RevisionId provided does not match the latest RevisionId'), {
        name: 'PreconditionFailedException',
      });
    fn.live = i.FunctionVersion;
    fn.revision++;
    fn.onEvent?.(`alias → ${fn.live}`);
    fn.afterAlias?.();
    return {};
  });
  return fn;
}
