/**
 * Where a model is saved, and what happens to what is already there (saveModelArtifact).
 *
 * A model is several files and a manifest that lists their sizes and sha256; writing a new model
 * over an old one file by file leaves, if the writer dies midway, the old manifest beside new
 * weights: neither model loads. So:
 *   local folder  the new model is written in a hidden sibling folder (`.<name>.wdp-tmp-…`)
 *                 and renamed into place only once complete. Replacing a model is two renames
 *                 (old → `.<name>.wdp-old-<pid>-<host tag>-<start>-<random>`, new → `<name>`): a crash
 *                 between them leaves no folder at `<name>`, the old model whole in the `.wdp-old-`
 *                 sibling and the new one whole in the `.wdp-tmp-` one. The old folder is deleted
 *                 last; one a killed save left is reported, or removed when certainly safe, by
 *                 the next save to `<name>` (save-old.ts).
 *                 The temp folder's name records its writer (`.<name>.wdp-tmp-<pid>-<host tag>-<start>-<random>`):
 *                 one left by a killed save (its pid gone from this host, or older than
 *                 STALE_SAVE_MS) is removed by the next save to `<name>` (save-temp.ts).
 *   S3 prefix     there is no rename: a replacement is written in place. Its old digest and
 *                 manifest are deleted FIRST, so an interrupted replacement leaves a prefix that
 *                 does not load (never the old manifest over new weights), and the old model is
 *                 gone from the moment the save starts. Keeping the old model means saving to a
 *                 new prefix (as the workflow does: one `runs/<id>/` per run).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { OutputLockedError, StorageError } from '../storage/errors.ts';
import { isS3Uri, joinUri, storeFor } from '../storage/index.ts';
import { lockOutput, type OutputLock } from '../storage/output-lock.ts';
import { ModelTargetError } from './errors.ts';
import { MANIFEST_DIGEST_FILE, MANIFEST_FILE } from './manifest.ts';
import { reviewOldSaveFolders } from './save-old.ts';
import { removeStaleSaveTemps, saveOldName, saveTempName } from './save-temp.ts';
import { isWriteProbe, probeS3Writable } from './write-probe.ts';

/**
 * What a save does when its target already holds something.
 * - `refuse`: the target must not exist, or be an empty folder (no object under an S3 prefix).
 * - `replace`: a model already there is replaced (`wdp train --force`); locally by an atomic
 *   swap, on S3 in place (see the file comment). A local folder holding anything that is not a
 *   model file is refused even so: a mistyped `--out ~` must not delete a home folder.
 * - `in-place`: written straight into the target, file by file, manifest then digest last,
 *   over whatever is there (the workflow's Train step, whose run-scoped candidate prefix only a
 *   retry of the same job can have partly written).
 */
export const EXISTING_MODEL_POLICIES = ['refuse', 'replace', 'in-place'] as const;
export type ExistingModelPolicy = (typeof EXISTING_MODEL_POLICIES)[number];

export interface SaveModelOptions {
  /** @default 'refuse' */
  readonly existing?: ExistingModelPolicy;
  /**
   * The target's writer lock, when the caller took it before its own work (lockModelTarget):
   * the save then runs under it instead of taking it itself.
   */
  readonly lock?: OutputLock;
}

/**
 * Takes the writer lock of model folder `uri` (storage/output-lock.ts): the first thing a save
 * does, so that of two saves to one folder the second fails before it looks at what is there.
 * A caller with work to do before its save (training, quantizing) takes it first, so the loser
 * fails at once rather than after that work, and passes it to the save (SaveModelOptions.lock).
 * On S3 the lock is an object beside the prefix (storage/s3-output-lock.ts), which matters more
 * there: an S3 save writes in place, so two at once would mix two models' files.
 * @returns the held lock (local or S3)
 * @throws ModelTargetError naming the other writer, or saying why S3 refused the lock object
 */
export async function lockModelTarget(uri: string): Promise<OutputLock | undefined> {
  try {
    return await lockOutput(uri, 'this model folder');
  } catch (e) {
    if (e instanceof OutputLockedError) throw new ModelTargetError(uri, e.detail, { cause: e });
    // The lock is the save's first request to S3: a missing bucket or a role that may not write
    // there is found here (as checkModelTarget's probe would find it), and said as the target's error.
    if (e instanceof StorageError && isS3Uri(uri))
      throw new ModelTargetError(uri, `cannot write its writer lock beside it: ${e.message}`, { cause: e });
    throw e;
  }
}

/** Files a model folder may hold (current and format-1 files, and our in-flight temp files); never a sub-folder. */
const MODEL_FILE = /^(manifest\.json|manifest\.sha256|[a-z0-9-]+\.safetensors|tower\.onnx)$|\.wdp-tmp-/;

/** The local path of a plain path or `file://` URI; undefined for S3. */
function localPath(uri: string): string | undefined {
  if (isS3Uri(uri)) return undefined;
  return resolve(uri.startsWith('file://') ? fileURLToPath(uri) : uri);
}

/** A path with its existing ancestors' symlinks resolved (the path itself may not exist yet). */
async function realLocalPath(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(await realLocalPath(parent), basename(path));
  }
}

/**
 * One spelling per location, to tell whether two URIs name the same file or folder: a local path
 * or `file://` URI as its real path (symlinks, `..` and trailing slashes resolved; the path
 * itself need not exist), an S3 URI without trailing slashes.
 */
export async function canonicalLocation(uri: string): Promise<string> {
  const path = localPath(uri);
  return path === undefined ? uri.replace(/\/+$/, '') : realLocalPath(path);
}

/**
 * Checks, before any work, that a model can be saved at `uri` under `existing`, and that it is
 * not the folder `warmStart` reads (whatever the policy: the parent would be destroyed and the
 * child would name itself as its parent).
 * @throws ModelTargetError saying what is there and what to do
 */
export async function checkModelTarget(
  uri: string,
  options: { readonly existing?: ExistingModelPolicy; readonly warmStart?: string } = {},
): Promise<void> {
  if (options.warmStart !== undefined && (await canonicalLocation(uri)) === (await canonicalLocation(options.warmStart)))
    throw new ModelTargetError(uri, 'it is the --warm-start model; a model cannot replace its own parent: choose another folder');
  const existing = options.existing ?? 'refuse';
  // On S3 the save is the first write: an unwritable prefix (no bucket, no PutObject) would
  // otherwise be found only once training is over.
  if (isS3Uri(uri)) await probeS3Writable(uri, existing === 'replace');
  if (existing !== 'in-place') await existingContents(uri, existing);
}

/**
 * What is at `uri` now, refused unless `existing` allows it.
 * @returns the local folder's entries (empty when there is none), or S3 object URIs
 */
async function existingContents(uri: string, existing: ExistingModelPolicy): Promise<string[]> {
  const path = localPath(uri);
  let entries: string[];
  if (path === undefined) {
    // Neither a probe nor a writer lock (a bucket root's lock is inside it, s3OutputLockUri) is the model's.
    entries = (await storeFor(uri).list(`${uri.replace(/\/+$/, '')}/`))
      .map((b) => b.uri)
      .filter((u) => !isWriteProbe(u) && !u.slice(u.lastIndexOf('/')).includes('.wdp-tmp-'));
  } else {
    const s = await stat(path).catch(() => undefined);
    if (s && !s.isDirectory()) throw new ModelTargetError(uri, 'it is a file, not a folder');
    const dirents = s ? await readdir(path, { withFileTypes: true }) : [];
    entries = dirents.map((d) => d.name);
    // A model holds no sub-folder: one (another model, a killed save's temp folder) makes this a
    // folder of other things, never a model to replace.
    const strangers = dirents
      .filter((d) => d.isDirectory() || !MODEL_FILE.test(d.name))
      .map((d) => (d.isDirectory() ? `${d.name}/` : d.name));
    if (strangers.length > 0) {
      const shown = strangers.slice(0, 5).join(', ') + (strangers.length > 5 ? `, … (${strangers.length} in all)` : '');
      throw new ModelTargetError(uri, `it is a folder holding files that are not a model's (${shown}): choose an empty or new folder`);
    }
  }
  if (entries.length > 0 && existing === 'refuse') {
    const holds = entries.some((e) => e.endsWith(MANIFEST_FILE)) ? 'a model' : `${entries.length} model file(s) but no manifest`;
    throw new ModelTargetError(
      uri,
      `it already holds ${holds}; choose a new folder, or give --force to replace it${path === undefined ? ' (on S3 the old model is deleted as the new one is written)' : ' (swapped in only once the new model is complete)'}`,
    );
  }
  return entries;
}

/**
 * Runs `write(dir)`, which writes a complete model folder at `dir` (manifest last), so that `uri`
 * ends up holding it as `existing` says (see the file comment for what is atomic where).
 * @returns what `write` returned
 */
export async function saveModelFolder<T>(
  uri: string,
  existing: ExistingModelPolicy,
  write: (dir: string) => Promise<T>,
  options: { readonly lock?: OutputLock } = {},
): Promise<T> {
  // In place is the workflow's run-scoped prefix, written by one job and its retries: a lock a
  // killed attempt left (another container, so another host) would only hold the retry back.
  if (existing === 'in-place') return write(uri);
  const lock = options.lock ?? (await lockModelTarget(uri));
  try {
    return await saveUnderLock(uri, existing, write);
  } finally {
    // A caller's lock is the caller's to release (it may have more to do under it).
    if (!options.lock) await lock?.release();
  }
}

async function saveUnderLock<T>(uri: string, existing: ExistingModelPolicy, write: (dir: string) => Promise<T>): Promise<T> {
  const entries = await existingContents(uri, existing);
  const path = localPath(uri);
  if (path === undefined) {
    // S3: no rename. Unmake the old model before the first new byte lands (digest first: without
    // it a format-2 folder is refused as unfinished), so no reader ever sees a mix.
    const store = storeFor(uri);
    if (entries.length > 0) {
      await store.delete(joinUri(uri, MANIFEST_DIGEST_FILE));
      await store.delete(joinUri(uri, MANIFEST_FILE));
    }
    return write(uri);
  }
  // Old folders first: a temp folder paired with one is evidence of where its save died.
  await reviewOldSaveFolders(path);
  await removeStaleSaveTemps(path);
  const suffix = randomBytes(6).toString('hex');
  const tmp = join(dirname(path), saveTempName(basename(path), suffix));
  await mkdir(dirname(path), { recursive: true });
  let result: T;
  try {
    // `write` is given the caller's spelling (file:// stays file://).
    result = await write(uri.startsWith('file://') ? pathToFileURL(tmp).href : tmp);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  let old: string | undefined;
  if (entries.length > 0) {
    old = join(dirname(path), saveOldName(basename(path), suffix));
    await rename(path, old);
  }
  try {
    // Onto a missing path, or (between our check and now) an empty folder: atomic either way.
    await rename(tmp, path);
  } catch (e) {
    if (old) await rename(old, path).catch(() => undefined);
    await rm(tmp, { recursive: true, force: true });
    throw new ModelTargetError(uri, `the new model could not be moved into place: ${(e as Error).message}`, { cause: e });
  }
  if (old) await rm(old, { recursive: true, force: true });
  return result;
}
