/** `wdp registry rebuild`: reconstruct a lost or damaged registry.json from the promoted model folders. */
import type { Command } from 'commander';
import { DEFAULT_STACK, printJson, say } from '../shared.ts';

interface RebuildOptions {
  bucket: string;
  remote: boolean;
  stack: string;
  force: boolean;
  dryRun: boolean;
  json: boolean;
}

export function addRegistryCommand(program: Command): void {
  const registry = program.command('registry').description('the model registry (registry/registry.json)');
  registry
    .command('rebuild')
    .description(
      'rebuild registry.json from models/registry/v*/manifest.json: champion = the model serving names if it is one of them, else the highest version; entries marked rebuilt',
    )
    .option('--bucket <dir|s3://…>', 'workflow bucket', '.wdp/bucket')
    .option('--remote', "the deployed stack's bucket, and the model alias live serves", false)
    .option('--stack <name>', 'deployed stack name', DEFAULT_STACK)
    .option('--force', 'replace a registry that is present and readable', false)
    .option('--dry-run', 'print the rebuilt registry, write nothing', false)
    .option('--json', 'print the rebuilt registry as JSON on stdout', false)
    .action(async (o: RebuildOptions) => {
      const { layout } = await import('../../src/workflow/bucket/layout.ts');
      const { rebuildRegistry } = await import('../../src/workflow/bucket/rebuild.ts');
      let bucketUri = o.bucket;
      let servedUri: string | null;
      if (o.remote) {
        const remote = await import('../workflow-remote.ts');
        bucketUri = await remote.remoteBucketUri({ stack: o.stack });
        servedUri = await remote.remoteServedUri({ stack: o.stack });
      } else {
        const { readServingPointer } = await import('../../src/workflow/steps/serving-target.ts');
        servedUri = await readServingPointer(layout(bucketUri)).then(
          (p) => p?.value.modelUri ?? null,
          (e: Error) => {
            // A pointer that cannot be used names no champion; `wdp models promote V --force` repairs it.
            say(`ignoring the serving pointer: ${e.message}`);
            return null;
          },
        );
      }
      const r = await rebuildRegistry(layout(bucketUri), { servedUri, force: o.force, dryRun: o.dryRun });
      if (o.json) printJson(r);
      for (const s of r.skipped) say(`skipped v${s.version}: ${s.reason}`);
      const champion = r.registry.champion;
      say(
        `${r.written ? 'rebuilt' : 'would rebuild'} ${layout(bucketUri).registry}: ${r.registry.history.length} version(s), champion ${champion ? `v${champion.version} (${champion.modelId}, from ${r.championFrom})` : 'none'}${r.backupUri ? `; the old one is kept at ${r.backupUri}` : ''}`,
      );
    });
}
