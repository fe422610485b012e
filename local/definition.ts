/**
 * The synthesized state machines as plain ASL: synthesize the CDK app in-process (template only:
 * no bundling, no asset staging, no cdk-nag), take each state machine's DefinitionString, and
 * resolve its CloudFormation intrinsics (Fn::Join, Ref, Fn::GetAtt…) to placeholder strings.
 * Task states are bound by name by the local runner, so the placeholder ARNs are never called.
 */
import { WorkflowError } from '../src/workflow/errors.ts';

export type Asl = { StartAt: string; States: Record<string, AslState> } & Record<string, unknown>;
export type AslState = { Type: string; Resource?: string; Next?: string; End?: boolean } & Record<string, unknown>;

export interface SynthesizedDefinitions {
  readonly retraining: Asl;
  readonly batchScoring: Asl;
}

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
  if (keys.length === 1) {
    const k = keys[0]!;
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
        const [id, attr] = name.split('.');
        return String(attr ? attOf(id!, attr, resources, bucketName) : refOf(id!, resources, bucketName));
      });
    }
    if (k.startsWith('Fn::')) throw new WorkflowError(`cannot resolve ${k} in the state machine definition`);
  }
  return Object.fromEntries(keys.map((key) => [key, r(obj[key])]));
}

function refOf(id: string, resources: Record<string, { Type: string }>, bucketName: string): string {
  if (PSEUDO[id] !== undefined) return PSEUDO[id]!;
  if (resources[id]?.Type === 'AWS::S3::Bucket') return bucketName;
  return id;
}

function attOf(id: string, attr: string, resources: Record<string, { Type: string }>, bucketName: string): string {
  const type = resources[id]?.Type ?? '';
  if (type === 'AWS::Lambda::Function' && attr === 'Arn') return `arn:aws:lambda:us-east-1:123456789012:function:${id}`;
  if (type === 'AWS::S3::Bucket' && attr === 'Arn') return `arn:aws:s3:::${bucketName}`;
  return `arn:aws:local:us-east-1:123456789012:${id}/${attr}`;
}

let cached: Promise<SynthesizedDefinitions> | undefined;

/**
 * Synthesizes the CDK app once per process and returns both definitions as ASL.
 * @param bucketName what `Ref` to the bucket resolves to (only informative locally)
 */
export function synthesizedDefinitions(bucketName = 'local-bucket'): Promise<SynthesizedDefinitions> {
  cached ??= (async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { createWdpApp } = await import('../cdk/app.ts');
    const outdir = await mkdtemp(join(tmpdir(), 'wdp-synth-'));
    try {
      const { app, stack } = createWdpApp({ templateOnly: true, nag: false, outdir });
      const assembly = app.synth();
      const template = assembly.getStackByName(stack.stackName).template as {
        Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
      };
      const definitionOf = (sm: import('constructs').IConstruct): Asl => {
        const id = stack.getLogicalId(sm.node.defaultChild as import('aws-cdk-lib').CfnElement);
        const raw = template.Resources[id]?.Properties?.['DefinitionString'];
        if (raw === undefined) throw new WorkflowError(`state machine ${id} has no DefinitionString in the template`);
        const text = resolveIntrinsics(raw, template.Resources, bucketName);
        return JSON.parse(String(text)) as Asl;
      };
      return { retraining: definitionOf(stack.retraining.stateMachine), batchScoring: definitionOf(stack.batchScoring.stateMachine) };
    } finally {
      await rm(outdir, { recursive: true, force: true });
    }
  })();
  cached.catch(() => (cached = undefined));
  return cached;
}
