/** `wdp invoke` locally: one request to the model `serving/live.json` points at (the local alias). */
import { listLogFiles } from '../src/data/logs.ts';
import { readStoredModel } from '../src/model/stored-model.ts';
import { checkServedModel, Scorer } from '../src/scoring/index.ts';
import { WorkflowError } from '../src/workflow/errors.ts';
import { layout } from '../src/workflow/bucket/layout.ts';
import { readRegistry } from '../src/workflow/bucket/state.ts';
import { servingDisagreement } from '../src/workflow/steps/models.ts';
import { holdoutRecords } from '../src/workflow/steps/serving-dry-run.ts';
import { readServingPointer } from '../src/workflow/steps/serving-target.ts';

export interface LocalInvokeOptions {
  readonly bucketUri: string;
  readonly request?: unknown;
  /**
   * Told when what serves is not the registry's champion (`wdp models` shows the same), or the
   * registry cannot be read to tell: the request is still answered by what serves, as alias `live` would.
   */
  readonly warn?: (message: string) => void;
}

export async function invokeLocalChampion(o: LocalInvokeOptions): Promise<unknown> {
  const l = layout(o.bucketUri);
  const live = (await readServingPointer(l))?.value;
  if (!live) throw new WorkflowError(`nothing is served yet (no ${l.servingPointer}): run \`npm start\` first`);
  if (o.warn) {
    const registry = await readRegistry(l).catch((e: unknown) => e as Error);
    const disagreement =
      registry instanceof Error
        ? `cannot tell whether ${l.servingPointer} serves the registry's champion: ${registry.message}`
        : servingDisagreement(registry, { where: l.servingPointer, uri: live.modelUri });
    if (disagreement) o.warn(disagreement);
  }
  let request = o.request;
  if (request === undefined) {
    // A sample request: five rows of the newest log day, every feature on the candidate.
    const files = await listLogFiles([l.logs]);
    const newest = files[files.length - 1]!;
    const { transforms } = await readStoredModel(live.modelUri);
    request = { context: {}, candidates: await holdoutRecords(transforms, [newest.uri], 5) };
  }
  const scorer = await Scorer.load(live.modelUri);
  try {
    // The pointer names a version and a model id: serve only if the folder holds that model
    // (the same check as the scoring Lambda's).
    checkServedModel(
      { version: `v${live.version}`, modelId: live.modelId, source: l.servingPointer },
      live.modelUri,
      scorer.modelVersion,
      '`wdp models` shows the registry; `wdp models promote V --force` points serving again',
    );
    return { servedVersion: `v${live.version}`, ...(await scorer.score(request)) };
  } finally {
    scorer.dispose();
  }
}
