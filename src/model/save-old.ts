/**
 * The `.<name>.wdp-old-…` folder a local replacing save moves the old model into (save-target.ts)
 * and deletes once the new model is in place. A save killed before that deletion leaves it, and
 * what it holds then depends on when the save died:
 *   - between its two renames: the only whole copy of the replaced model (the new one is whole in
 *     the save's `.wdp-tmp-` folder with the same writer and random part, and `<name>` is gone);
 *   - after the second rename: a copy of a model the user asked to replace, `<name>` holding the
 *     new one.
 * Every local save to `<name>` looks at these folders first. One is removed only when it is
 * certainly the second case: its writer recorded in its name and gone from this host (so no save
 * is still using it), no temp folder of the same save beside it (so the second rename happened),
 * `<name>` moved in within a minute of it being moved out (the same save's renames, not a later
 * save's), and `<name>` holding a whole model (manifest digest and every listed file's sha256).
 * Removing it then only finishes what that save was about to do. Anything else (a live writer:
 * left alone; another host's, an older unrecorded name, a missing or damaged target, the temp
 * folder still beside it) is kept and reported as a process warning naming what it holds and how
 * to restore or remove it: it may be the last copy of a model, so only the user decides.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { parseJsonDocument } from '../storage/json-document.ts';
import { hostTag } from '../util/process-owner.ts';
import { shellQuoted } from '../util/terminal-text.ts';
import { verifyFile } from './file-check.ts';
import { MANIFEST_FILE, readManifestDocument } from './manifest.ts';
import { isSaveTempFolder, SAVE_OLD_MARKER, saveFolderWriter, saveWriterRunsHere } from './save-temp.ts';

/** The process warning's code for a kept `.wdp-old-` folder (and one removed). */
export const LEFTOVER_OLD_MODEL_WARNING = 'WDP_LEFTOVER_OLD_MODEL';

/** What happened to each `.wdp-old-` folder beside the target (for tests and callers that log). */
export interface OldFolderOutcome {
  readonly path: string;
  readonly outcome: 'removed' | 'kept' | 'live';
  /** The warning given, when one was. */
  readonly message?: string;
}

/**
 * Looks at the `.wdp-old-` folders beside local target `path` (see the file comment): removes
 * those that are certainly leftovers of a finished replacement, warns about the rest.
 * Best effort: a folder that cannot be read or removed is reported, never a reason to fail the save.
 */
export async function reviewOldSaveFolders(path: string, options: { readonly sameSaveMs?: number } = {}): Promise<OldFolderOutcome[]> {
  const name = basename(path);
  const dir = dirname(path);
  const prefix = `.${name}${SAVE_OLD_MARKER}`;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const olds = entries.filter((d) => d.isDirectory() && d.name.startsWith(prefix));
  const outcomes: OldFolderOutcome[] = [];
  let targetWhole: Promise<string | undefined> | undefined;
  for (const d of olds) {
    const old = join(dir, d.name);
    const writer = saveFolderWriter(d.name.slice(prefix.length));
    const here = writer !== undefined && writer.host === hostTag();
    if (here && saveWriterRunsHere(writer)) {
      // A save still running (in this process or another of this host): its folder, its business.
      outcomes.push({ path: old, outcome: 'live' });
      continue;
    }
    const tmp = writer ? entries.find((e) => e.isDirectory() && e.name === `.${name}.wdp-tmp-${d.name.slice(prefix.length)}`) : undefined;
    targetWhole ??= wholeModelProblem(path);
    const targetProblem = await targetWhole;
    if (here && !tmp && targetProblem === undefined && (await movedTogether(old, path, options.sameSaveMs ?? SAME_SAVE_MS))) {
      const removed = await rm(old, { recursive: true, force: true }).then(
        () => true,
        () => false,
      );
      if (removed) {
        const message = `removed ${old}: the model a save to ${path} replaced, left when that save (pid ${writer.pid}, gone) was killed after ${path} already held its new model, whole`;
        process.emitWarning(message, { code: LEFTOVER_OLD_MODEL_WARNING });
        outcomes.push({ path: old, outcome: 'removed', message });
        continue;
      }
    }
    const message = await keptMessage(
      path,
      old,
      tmp ? join(dir, tmp.name) : undefined,
      targetProblem,
      writer ? (here ? 'gone' : 'other-host') : 'unknown',
    );
    process.emitWarning(message, { code: LEFTOVER_OLD_MODEL_WARNING });
    outcomes.push({ path: old, outcome: 'kept', message });
  }
  return outcomes;
}

/**
 * Renames of one save run back to back, and a rename sets the moved folder's ctime (ext4, xfs,
 * tmpfs, APFS): the old folder moved out and the target moved in within this much of each other
 * are one save's two renames. Without this, a save killed between them whose temp folder the user
 * then deleted, followed by another save to the target, would look the same, and the only copy of
 * the first replaced model would be removed. A file system whose rename leaves ctime alone gives
 * times far apart, and the folder is kept: the safe side.
 */
const SAME_SAVE_MS = 60_000;

async function movedTogether(old: string, target: string, withinMs: number): Promise<boolean> {
  const [a, b] = await Promise.all([stat(old).catch(() => undefined), stat(target).catch(() => undefined)]);
  return a !== undefined && b !== undefined && Math.abs(a.ctimeMs - b.ctimeMs) <= withinMs;
}

/** Why the folder at `path` is not a whole model, or undefined when it is (manifest digest and every file's sha256). */
async function wholeModelProblem(path: string): Promise<string | undefined> {
  if (!(await stat(path).catch(() => undefined))) return 'does not exist';
  try {
    const { manifest } = await readManifestDocument(path);
    for (const [file, entry] of Object.entries(manifest.files)) await verifyFile(path, file, entry);
    return undefined;
  } catch (e) {
    return `does not load (${(e as Error).message})`;
  }
}

/** The few manifest fields a warning names; read without the loader's checks (a temp folder is refused by it). */
const manifestSummarySchema = z.looseObject({ modelId: z.string(), kind: z.string(), createdAt: z.string() });

/**
 * One model folder in a few words: its id, kind and save time, whether it loads (a temp folder
 * never does as such: whether its files are whole is then said by the manifest digest alone).
 */
async function describeModel(path: string): Promise<string> {
  try {
    const bytes = await readFile(join(path, MANIFEST_FILE));
    const m = parseJsonDocument(bytes, join(path, MANIFEST_FILE), manifestSummarySchema, { maxBytes: bytes.length });
    const problem = isSaveTempFolder(path) ? undefined : await wholeModelProblem(path);
    return `model ${m.modelId} (${m.kind}, saved ${m.createdAt}${problem ? `; it ${problem}` : ''})`;
  } catch (e) {
    return `no model that loads (${(e as Error).message})`;
  }
}

async function keptMessage(
  target: string,
  old: string,
  tmp: string | undefined,
  targetProblem: string | undefined,
  writer: 'gone' | 'other-host' | 'unknown',
): Promise<string> {
  const holds = await describeModel(old);
  if (tmp) {
    return `a save to ${target} was killed between its two renames: ${old} holds ${holds}, the model it replaced, and ${tmp} holds ${await describeModel(tmp)}, the one meant to replace it. Both are kept. To finish that save: mv ${shellQuoted(tmp)} ${shellQuoted(target)} && rm -r ${shellQuoted(old)} (with ${target} moved aside first if it exists); to undo it: mv ${shellQuoted(old)} ${shellQuoted(target)} && rm -r ${shellQuoted(tmp)}`;
  }
  const why =
    writer === 'unknown'
      ? 'its writer is not recorded (a save by an older wdp)'
      : writer === 'other-host'
        ? 'it was left by a save on another host, which may still be running'
        : targetProblem
          ? `${target} ${targetProblem}`
          : `${target} was not moved in with it (it holds a later save's model, not the replacement's)`;
  return `${old} holds ${holds}, the model at ${target} before a save replaced it; kept because ${why}, so it may be the only copy. To restore it: mv ${shellQuoted(target)} ${shellQuoted(`${target}.replaced`)} (if it exists) && mv ${shellQuoted(old)} ${shellQuoted(target)}; to remove it: rm -r ${shellQuoted(old)}`;
}
