/**
 * The synthesized state machines as plain ASL, for the local runner (local/definition.ts), which
 * runs this script in a child process so that runtime code never loads aws-cdk-lib:
 *
 *   node --import tsx cdk/state-machine-definitions.ts <out.json> [bucketName]
 *
 * It synthesizes the app template-only (no bundling, no asset staging, no cdk-nag), takes each
 * state machine's DefinitionString and resolves its CloudFormation intrinsics (Fn::Join, Ref,
 * Fn::GetAtt…) to placeholder strings. Task states are bound by name by the local runner, so the
 * placeholder ARNs are never called.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { WorkflowError } from '../src/workflow/errors.ts';
import { createWdpApp } from './app.ts';

/** What the script writes: both definitions, each a parsed ASL document. */
export interface StateMachineDefinitions {
  readonly retraining: unknown;
  readonly batchScoring: unknown;
}

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'us-east-1',
  'AWS::AccountId': '123456789012',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'Wdp',
  'AWS::NoValue': '',
};

/** Resolves the intrinsics a Step Functions definition uses to strings. */
export function resolveIntrinsics(value: unknown, resources: Record<string, { Type: string }>, bucketName: string): unknown {
  const r = (v: unknown): unknown => resolveIntrinsics(v, resources, bucketName);
  if (Array.isArray(value)) return value.map(r);
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  const [k] = keys;
  if (keys.length === 1 && k !== undefined) {
    const arg = obj[k];
    if (k === 'Ref') return refOf(String(arg), resources, bucketName);
    if (k === 'Fn::GetAtt') {
      const [id, attr] = (Array.isArray(arg) ? arg : String(arg).split('.')) as [string, string];
      return attOf(id, attr, resources, bucketName);
    }
    if (k === 'Fn::Join') {
      const [sep, parts] = arg as [string, unknown[]];
      return (parts.map(r) as unknown[]).map(String).join(sep);
    }
    if (k === 'Fn::Select') {
      const [index, list] = arg as [unknown, unknown];
      return (r(list) as unknown[])[Number(r(index))];
    }
    if (k === 'Fn::Split') {
      const [sep, s] = arg as [string, unknown];
      return String(r(s)).split(sep);
    }
    if (k === 'Fn::Sub') {
      const [template, vars] = (Array.isArray(arg) ? arg : [arg, {}]) as [string, Record<string, unknown>];
      return template.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
        if (vars[name] !== undefined) return String(r(vars[name]));
        const [id = '', attr] = name.split('.');
        return String(attr ? attOf(id, attr, resources, bucketName) : refOf(id, resources, bucketName));
      });
    }
    if (k.startsWith('Fn::')) throw new WorkflowError(`cannot resolve ${k} in the state machine definition`);
  }
  return Object.fromEntries(keys.map((key) => [key, r(obj[key])]));
}

function refOf(id: string, resources: Record<string, { Type: string }>, bucketName: string): string {
  const pseudo = PSEUDO[id];
  if (pseudo !== undefined) return pseudo;
  if (resources[id]?.Type === 'AWS::S3::Bucket') return bucketName;
  return id;
}

function attOf(id: string, attr: string, resources: Record<string, { Type: string }>, bucketName: string): string {
  const type = resources[id]?.Type ?? '';
  if (type === 'AWS::Lambda::Function' && attr === 'Arn') return `arn:aws:lambda:us-east-1:123456789012:function:${id}`;
  if (type === 'AWS::S3::Bucket' && attr === 'Arn') return `arn:aws:s3:::${bucketName}`;
  return `arn:aws:local:us-east-1:123456789012:${id}/${attr}`;
}

/**
 * Synthesizes the app (template only) and returns both definitions with intrinsics resolved.
 * @param bucketName what `Ref` to the bucket resolves to (only informative locally)
 */
export async function synthesizeStateMachineDefinitions(bucketName: string): Promise<StateMachineDefinitions> {
  const outdir = await mkdtemp(join(tmpdir(), 'wdp-synth-'));
  try {
    const { app, stack } = createWdpApp({ templateOnly: true, nag: false, outdir });
    const template = app.synth().getStackByName(stack.stackName).template as { Resources: Resources };
    const definitionOf = (sm: IConstruct): unknown => {
      const id = stack.getLogicalId(sm.node.defaultChild as CfnElement);
      const raw = template.Resources[id]?.Properties?.['DefinitionString'];
      if (raw === undefined) throw new WorkflowError(`state machine ${id} has no DefinitionString in the template`);
      return JSON.parse(String(resolveIntrinsics(raw, template.Resources, bucketName))) as unknown;
    };
    return { retraining: definitionOf(stack.retraining.stateMachine), batchScoring: definitionOf(stack.batchScoring.stateMachine) };
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const [out, bucketName = 'local-bucket'] = process.argv.slice(2);
  if (!out) {
    process.stderr.write('usage: node --import tsx cdk/state-machine-definitions.ts <out.json> [bucketName]\n');
    process.exit(2);
  }
  await writeFile(out, JSON.stringify(await synthesizeStateMachineDefinitions(bucketName)));
}
