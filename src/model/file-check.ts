/**
 * The size and sha256 check of one file a model manifest lists: shared by loading (artifact.ts)
 * and by a save deciding whether the model at its target is whole (save-old.ts), which must not
 * import the artifact code that saves through it.
 */
import { createHash } from 'node:crypto';
import { joinUri, storeFor } from '../storage/index.ts';
import { ModelLoadError } from './errors.ts';
import type { ModelManifest } from './manifest.ts';

export type FileEntry = ModelManifest['files'][string];

/** Checks a listed file the caller does not decode, hashing it as a stream (never all in memory). */
export async function verifyFile(uri: string, name: string, entry: FileEntry): Promise<void> {
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of storeFor(uri).readStream(joinUri(uri, name))) {
      size += chunk.length;
      // Past the listed size it is wrong whatever follows: stop reading.
      if (size > entry.bytes) break;
      hash.update(chunk);
    }
  } catch (e) {
    throw new ModelLoadError(uri, `cannot read ${name}: ${(e as Error).message}`, { cause: e });
  }
  if (size > entry.bytes) throw new ModelLoadError(uri, `${name} is more than ${entry.bytes} bytes, the size the manifest says`);
  checkBytes(uri, name, entry, size, hash.digest('hex'));
}

export function checkBytes(uri: string, name: string, entry: FileEntry, size: number, digest: string): void {
  if (size !== entry.bytes) throw new ModelLoadError(uri, `${name} is ${size} bytes, the manifest says ${entry.bytes}`);
  if (digest !== entry.sha256) throw new ModelLoadError(uri, `${name} is corrupted: its sha256 does not match the manifest`);
}
