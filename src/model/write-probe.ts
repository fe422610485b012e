/**
 * Whether a model can be written under an S3 prefix, found out before training instead of at
 * the save hours later: a tiny object is put under the prefix and deleted again. A put is the
 * one request that checks what the save needs (the bucket exists, the role may PutObject there,
 * the bucket's encryption key may be used); the BlobStore has no HeadBucket, and a HeadBucket or
 * a listing would pass for a read-only role anyway.
 */
import { randomBytes } from 'node:crypto';
import { joinUri, storeFor } from '../storage/index.ts';
import { ModelTargetError } from './errors.ts';

/** Names the probe object; listings of a target skip it (a role that may put but not delete leaves one behind). */
export const WRITE_PROBE_MARKER = '.wdp-write-probe-';

/**
 * Puts and deletes `<uri>/.wdp-write-probe-<random>`.
 * @param needsDelete the save deletes objects (replacing a model): a refused delete is an error
 *   then; otherwise the probe is left (and ignored) rather than refusing a save that would work
 * @throws ModelTargetError naming the target, the operation and the store's reason
 */
export async function probeS3Writable(uri: string, needsDelete: boolean): Promise<void> {
  const probe = joinUri(uri, `${WRITE_PROBE_MARKER}${randomBytes(6).toString('hex')}`);
  const store = storeFor(uri);
  try {
    await store.write(probe, 'wdp checks that a model can be saved here; safe to delete\n');
  } catch (e) {
    throw new ModelTargetError(uri, `cannot write under it (checked before training): ${(e as Error).message}`, { cause: e });
  }
  try {
    await store.delete(probe);
  } catch (e) {
    if (!needsDelete) return;
    throw new ModelTargetError(
      uri,
      `cannot delete under it (checked before training; replacing a model deletes the old one's manifest first): ${(e as Error).message}; the probe object ${probe} was left there`,
      { cause: e },
    );
  }
}

/** Whether a listed object is a probe, not part of a model. */
export function isWriteProbe(objectUri: string): boolean {
  return (objectUri.split('/').pop() ?? '').startsWith(WRITE_PROBE_MARKER);
}
