/** `wdp serve`: the scoring handler over HTTP on 127.0.0.1. */
import { type Command, Option } from 'commander';
import { SPLIT_TOWER_KINDS, type SplitTowerKind } from '../../src/scoring/split-tower.ts';
import { WdpError } from '../../src/util/errors.ts';
import { consoleLogger } from '../../src/util/log.ts';
import { int } from '../shared.ts';

export function addServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve the scoring handler over HTTP on 127.0.0.1 (POST a JSON request to /)')
    .requiredOption('--model <uri>', 'model folder')
    .option('--port <n>', 'port', int('--port', 0, 65_535), 8080)
    .addOption(new Option('--backend <backend>', 'scoring tower').choices(SPLIT_TOWER_KINDS).default('auto'))
    .option('--max-candidates <n>', 'most candidates per request', int('--max-candidates'), 1000)
    .option('--warm-up', 'after the load, score made-up requests so that the first real one is fast (~0.5 s at the paper shape)')
    .action(async (o: { model: string; port: number; backend: SplitTowerKind; maxCandidates: number; warmUp?: boolean }) => {
      // The weights' read starts before the scoring code loads; the server then loads the model
      // at once (preload) rather than on the first request, and the loader claims that read.
      const { prefetchServingWeights } = await import('../../src/model/prefetch.ts');
      prefetchServingWeights(o.model);
      const { serve } = await import('../../src/scoring/serve.ts');
      const log = consoleLogger();
      // The handler logs a message plus structured extras; the console logger takes one string.
      const fmt = (m: string, extra: Record<string, unknown>[]) =>
        extra.length ? `${m} ${extra.map((e) => JSON.stringify(e)).join(' ')}` : m;
      const { server, port, firstLoad, ready } = await serve({
        modelUri: o.model,
        port: o.port,
        preload: true,
        ...(o.warmUp ? { warmUp: true } : {}),
        scorerOptions: { backend: o.backend, maxCandidates: o.maxCandidates, log: (m) => log.info(m) },
        logger: {
          info: (m, ...e) => log.info(fmt(m, e)),
          warn: (m, ...e) => log.warn(fmt(m, e)),
          error: (m, ...e) => log.error(fmt(m, e)),
        },
      });
      // Someone starting a server by hand wants to know now that it cannot serve, not from a 503
      // per request: a model that does not load stops the command (the library's serve() keeps
      // running and retries, for callers that wait for the folder to appear).
      try {
        await firstLoad;
      } catch (e) {
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
        throw new WdpError(`cannot serve ${o.model}: the model failed to load: ${(e as Error).message}`, { cause: e });
      }
      // With --warm-up, "serving" means warm: the made-up requests are done.
      await ready();
      log.info(`serving ${o.model} on http://127.0.0.1:${port}/ — POST {"context":{…},"candidates":[{…}]}`);
    });
}
