/**
 * `wdp models list|show V|promote V|rollback`: the registry's promoted versions, which one serves,
 * and an operator's move of the champion, through the Promote step's own code
 * (src/workflow/steps/models.ts), locally or on the deployed stack.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { DEFAULT_STACK, existingBucket, printJson, say } from '../shared.ts';
import type { ServingTarget } from '../../src/workflow/steps/serving-target.ts';
import type { ServingState } from '../../src/workflow/steps/models.ts';

interface ModelsOptions {
  bucket: string;
  remote: boolean;
  stack: string;
  json: boolean;
  force?: boolean;
}

function version(v: string): number {
  // Digits only: Number() also reads 1e1 (v10), 0x1 and ' 1', which a version is never spelled as.
  const n = /^v?\d+$/i.test(v) ? Number(v.replace(/^v/i, '')) : Number.NaN;
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`V must be a registry version such as 3 or v3, got "${v}"`);
  return n;
}

interface Where {
  readonly bucketUri: string;
  readonly serving: () => Promise<ServingState>;
  readonly target: () => ServingTarget;
}

/** The bucket, what serves and how to move it: the local pointer, or (--remote) alias `live` of the stack's scoring function. */
async function where(o: ModelsOptions): Promise<Where> {
  const { layout } = await import('../../src/workflow/bucket/layout.ts');
  const st = await import('../../src/workflow/steps/serving-target.ts');
  if (!o.remote) {
    const l = layout(existingBucket(o.bucket));
    return {
      bucketUri: o.bucket,
      serving: async () => {
        try {
          return { where: l.servingPointer, uri: (await st.readServingPointer(l))?.value.modelUri ?? null };
        } catch (e) {
          return { where: l.servingPointer, uri: null, problem: (e as Error).message };
        }
      },
      target: () => new st.FileServingTarget(l.servingPointer, o.bucket),
    };
  }
  const { CloudFormationClient } = await import('@aws-sdk/client-cloudformation');
  const { resolveFromStack } = await import('../aws-remote.ts');
  const remote = await import('../workflow-remote.ts');
  const { STACK_OUTPUT_NAMES } = await import('../../src/workflow/state-names.ts');
  const cfn = new CloudFormationClient({});
  const functionName = await resolveFromStack(undefined, cfn, o.stack, STACK_OUTPUT_NAMES.scoringFunction);
  return {
    bucketUri: await remote.remoteBucketUri({ stack: o.stack, cfn }),
    serving: async () => {
      const uri = await remote.remoteServedUri({ stack: o.stack, functionName, cfn });
      return { where: `lambda ${functionName}:${st.LIVE_ALIAS}`, uri, followsRegistry: uri === null };
    },
    target: () => new st.LambdaServingTarget({ functionName }),
  };
}

async function operator(): Promise<string> {
  const { userInfo, hostname } = await import('node:os');
  return `${userInfo().username}@${hostname()}`;
}

const f4 = (x: number | undefined | null) => (typeof x === 'number' ? x.toFixed(4) : '—');

export function addModelsCommand(program: Command): void {
  const models = program
    .command('models')
    .description('promoted model versions: list, show one, promote one, roll back to the previous champion')
    .option('--bucket <dir|s3://…>', 'workflow bucket', '.wdp/bucket')
    .option('--remote', "the deployed stack's bucket and its scoring alias live (from the stack outputs)", false)
    .option('--stack <name>', 'deployed stack name', DEFAULT_STACK)
    .option('--json', 'print JSON on stdout', false);

  const list = async (o: ModelsOptions) => {
    const { layout } = await import('../../src/workflow/bucket/layout.ts');
    const { listModels } = await import('../../src/workflow/steps/models.ts');
    const w = await where(o);
    const r = await listModels(layout(w.bucketUri), await w.serving());
    if (o.json) return printJson(r);
    say(`registry ${r.registryUri}; serving ${r.serving.where}`);
    if (r.models.length === 0) say('no promoted model yet (`npm start` trains and promotes v1)');
    else {
      say(
        `  ${'version'.padEnd(8)} ${'holdout AUC'.padEnd(11)} ${'logloss'.padEnd(7)} ${'parent'.padEnd(6)} ${'days trained'.padEnd(24)} model id`,
      );
      for (const m of [...r.models].reverse()) {
        const flag =
          m.champion && m.serving ? 'champion, serving' : m.champion ? 'champion (NOT serving)' : m.serving ? 'serving (NOT champion)' : '';
        say(
          `${m.champion || m.serving ? '*' : ' '} ${`v${m.version}`.padEnd(8)} ${f4(m.holdout?.auc).padEnd(11)} ${f4(m.holdout?.logloss).padEnd(7)} ${(m.parentVersion ? `v${m.parentVersion}` : '—').padEnd(6)} ${(m.days.train.join(',') || (m.rebuilt ? '(rebuilt)' : '—')).padEnd(24)} ${m.modelId}${flag ? `  ← ${flag}` : ''}`,
        );
      }
    }
    if (r.disagreement) say(`WARNING: ${r.disagreement}`);
    say(r.rollbackTo ? `\`wdp models rollback\` would go back to v${r.rollbackTo}` : 'no earlier champion to roll back to');
  };
  models.action(list);
  models
    .command('list')
    .description('every promoted version with its holdout metrics, parent and days; which one is champion and which serves (the default)')
    .action(async (_o: unknown, cmd: Command) => list(cmd.optsWithGlobals<ModelsOptions>()));

  models
    .command('show <V>')
    .description("one version: its manifest, metrics and the URI of its run's report")
    .action(async (v: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<ModelsOptions>();
      const { layout } = await import('../../src/workflow/bucket/layout.ts');
      const { showModel } = await import('../../src/workflow/steps/models.ts');
      const w = await where(o);
      const m = await showModel(layout(w.bucketUri), version(v), await w.serving());
      if (o.json) return printJson(m);
      say(`v${m.version}  ${m.modelId}${m.champion ? '  champion' : ''}${m.serving ? '  serving' : ''}`);
      say(`  uri:        ${m.uri}`);
      say(`  run:        ${m.runId}, promoted ${m.promotedAt}`);
      say(
        `  parent:     ${m.parentVersion ? `v${m.parentVersion} (${m.parentModelId})` : (m.parentModelId ?? 'none (trained from scratch)')}`,
      );
      say(`  days:       trained ${m.days.train.join(', ') || '—'}; holdout ${m.days.holdout.join(', ') || '—'}`);
      say(`  holdout:    AUC ${f4(m.holdout?.auc)}, logloss ${f4(m.holdout?.logloss)}`);
      const champ = m.metrics['champion'] as { auc?: number; logloss?: number } | null | undefined;
      if (champ) say(`  champion then, same holdout: AUC ${f4(champ.auc)}, logloss ${f4(champ.logloss)}`);
      if (m.manifest)
        say(
          `  manifest:   ${m.manifest.kind}, created ${m.manifest.createdAt}, ${m.manifest.trainedRows} rows from ${m.manifest.trainedFiles} file(s), ${m.manifest.files} files (${(m.manifest.bytes / 1e6).toFixed(1)} MB)${m.manifest.wideZeroFraction !== null ? `, ${(m.manifest.wideZeroFraction * 100).toFixed(1)}% wide weights zero` : ''}`,
        );
      else say(`  manifest:   unreadable: ${m.manifestError}`);
      const gone = 'gone (candidates expire by lifecycle rule)';
      say(`  report:     ${m.report.uri} (${m.report.exists ? 'present' : m.validation.exists ? 'not written for this run' : gone})`);
      say(`  validation: ${m.validation.uri} (${m.validation.exists ? 'present' : gone})`);
    });

  models
    .command('promote <V>')
    .description('make version V the champion and what serves (registry and local pointer / alias live together), under the run lock')
    .option('--force', 'also move serving from a model the registry does not name, or from an unusable local pointer (a repair)', false)
    .action(async (v: string, _o: unknown, cmd: Command) => move(cmd.optsWithGlobals<ModelsOptions>(), version(v)));
  models
    .command('rollback')
    .description('back to the previous champion; a second rollback goes one further back (never to the version just rolled back from)')
    .option('--force', 'also move serving from a model the registry does not name, or from an unusable local pointer (a repair)', false)
    .action(async (_o: unknown, cmd: Command) => move(cmd.optsWithGlobals<ModelsOptions>(), null));
}

async function move(o: ModelsOptions, to: number | null): Promise<void> {
  const { layout } = await import('../../src/workflow/bucket/layout.ts');
  const { consoleLogger } = await import('../../src/util/log.ts');
  const m = await import('../../src/workflow/steps/models.ts');
  const w = await where(o);
  const options = { serving: w.target(), by: await operator(), logger: consoleLogger(), ...(o.force ? { force: true } : {}) };
  const l = layout(w.bucketUri);
  const r = to === null ? await m.rollbackChampion(l, options) : await m.promoteVersion(l, to, options);
  if (o.json) return printJson(r);
  say(
    r.changed
      ? `${r.action === 'rollback' ? 'rolled back' : 'promoted'}: v${r.version} (${r.modelId}) is the champion and serves${r.lambdaVersion ? ` (Lambda version ${r.lambdaVersion})` : ''}; was ${r.from ? `v${r.from}` : 'none'}`
      : `v${r.version} already is the champion and serves; nothing changed`,
  );
}
