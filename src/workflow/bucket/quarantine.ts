/**
 * `state/quarantine.json`: the log files Ingest set aside (config `data.onBadFile: "quarantine"`).
 * Ingest writes it as soon as it finds them, whatever the run's outcome, so a bad file is listed
 * (`wdp days`) and skipped from then on without being opened again. Replacing the file (a new size,
 * etag or modification time) makes it a new file, checked again at the next Ingest.
 */
import { StoragePreconditionError } from '../../storage/index.ts';
import { WorkflowError } from '../errors.ts';
import { quarantineSchema, type FileRef, type Quarantine, type QuarantinedFile } from '../schemas.ts';
import { readJsonVersioned, writeJson } from './json-store.ts';
import { recordQuarantineList, resolveQuarantineList } from './keys.ts';
import type { BucketLayout } from './layout.ts';

export const EMPTY_QUARANTINE: Quarantine = { formatVersion: 1, files: [] };

export async function readQuarantine(l: BucketLayout): Promise<Quarantine> {
  const stored = (await readJsonVersioned(l.quarantine, quarantineSchema))?.value;
  return stored ? resolveQuarantineList(l, stored) : EMPTY_QUARANTINE;
}

/**
 * The same object as listed: same URI and size, and the same etag and modification time where
 * both sides have them (a rewrite of the same size changes one or the other).
 */
export function sameFile(a: FileRef, b: FileRef): boolean {
  const same = <T>(x: T | undefined, y: T | undefined) => x === undefined || y === undefined || x === y;
  return a.uri === b.uri && a.sizeBytes === b.sizeBytes && same(a.etag, b.etag) && same(a.modifiedMs, b.modifiedMs);
}

/**
 * Adds `files` (those not already there) with a compare-and-swap on the document's etag, retried
 * when another writer got in first, so two Ingests never drop each other's entries.
 */
export async function recordQuarantine(l: BucketLayout, files: readonly QuarantinedFile[]): Promise<void> {
  if (files.length === 0) return;
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await readJsonVersioned(l.quarantine, quarantineSchema);
    const doc = current ? resolveQuarantineList(l, current.value) : EMPTY_QUARANTINE;
    const added = files.filter((f) => !doc.files.some((q) => sameFile(q, f)));
    if (added.length === 0) return;
    try {
      await writeJson(
        l.quarantine,
        recordQuarantineList(l, { ...doc, files: [...doc.files, ...added] }),
        current ? { ifMatch: current.etag } : { ifNoneMatch: '*' },
      );
      return;
    } catch (e) {
      if (!(e instanceof StoragePreconditionError)) throw e;
    }
  }
  throw new WorkflowError(`${l.quarantine} kept changing while it was written; try again`);
}
