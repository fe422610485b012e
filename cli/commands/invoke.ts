/** `wdp invoke`: one online scoring request to what alias `live` serves, deployed or local. */
import { readFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError } from 'commander';
import { DEFAULT_STACK, printJson, say } from '../shared.ts';

/** `--request` is inline JSON or `@file`. */
async function readRequest(arg: string): Promise<unknown> {
  const file = arg.startsWith('@') ? arg.slice(1) : undefined;
  const text =
    file === undefined
      ? arg
      : await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
          throw new InvalidArgumentError(
            `--request ${arg}: cannot read ${file} (${e.code === 'ENOENT' ? 'no such file' : (e.code ?? e.message)})`,
          );
        });
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new InvalidArgumentError(`--request is not JSON: ${(e as Error).message}`);
  }
}

export function addInvokeCommand(program: Command): void {
  program
    .command('invoke')
    .description(
      'send one online scoring request to what alias `live` serves: the deployed scoring Lambda (--remote) or the local champion',
    )
    .option('--request <json|@file>', 'request body {context, candidates, topK?} (local default: 5 rows of the newest log day)')
    .option('--bucket <dir|s3://…>', 'workflow bucket (local runs)', '.wdp/bucket')
    .option('--remote', 'invoke the deployed scoring function, alias live', false)
    .option('--stack <name>', 'deployed stack name', DEFAULT_STACK)
    .option('--function <name>', 'scoring function name (instead of the stack outputs)')
    .action(async (o: { request?: string; bucket: string; remote: boolean; stack: string; function?: string }) => {
      if (o.remote) {
        if (!o.request) throw new InvalidArgumentError('--remote needs --request');
        const { runRemoteInvoke } = await import('../workflow-remote.ts');
        printJson(
          await runRemoteInvoke({
            stack: o.stack,
            request: await readRequest(o.request),
            ...(o.function ? { functionName: o.function } : {}),
          }),
        );
        return;
      }
      const { invokeLocalChampion } = await import('../../local/invoke.ts');
      printJson(
        await invokeLocalChampion({
          bucketUri: o.bucket,
          ...(o.request ? { request: await readRequest(o.request) } : {}),
          // As `wdp models` words it: the answer below comes from what serves, not from the champion.
          warn: (m) => say(`WARNING: ${m}`),
        }),
      );
    });
}
