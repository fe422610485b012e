/** `wdp invoke` locally: one request to the model `serving/live.json` points at (the local alias). */
import { listLogFiles } from '../data/logs.ts';
import { readStoredModel } from '../model/stored-model.ts';
import { Scorer } from '../scoring/index.ts';
import { WorkflowError } from './errors.ts';
import { readJson } from './bucket/json-store.ts';
import { layout } from './bucket/layout.ts';
import { holdoutRecords } from './steps/serving-dry-run.ts';
import { servingPointerSchema } from './steps/serving-target.ts';

export async function invokeLocalChampion(o: { bucketUri: string; request?: unknown }): Promise<unknown> {
  const l = layout(o.bucketUri);
  const live = await readJson(l.servingPointer, servingPointerSchema);
  if (!live) throw new WorkflowError(`nothing is served yet (no ${l.servingPointer}): run \`npm start\` first`);
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
    return { servedVersion: `v${live.version}`, ...(await scorer.score(request)) };
  } finally {
    scorer.dispose();
  }
}
