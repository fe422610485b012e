/**
 * The temp folder a local model save writes in (`.<name>.wdp-tmp-<pid>-<host tag>-<start>-<random>`,
 * beside the target; save-target.ts swaps it into place once complete), and what is done about
 * ones a killed save left behind. The name records the writer, as FileStore's lock files do
 * (`<pid>@<host>` and the process's start), so a later save can tell a killed save's folder (its
 * process gone from this host, or its pid now another process's: a restarted container's command
 * gets the same pid) from a live one's without any other file. Names without the start (older
 * saves, systems without /proc) are judged by the pid alone.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { hostTag, ownerRuns, thisProcessStart } from '../util/process-owner.ts';

/** What marks a save's temp folder beside its target (`.<name>.wdp-tmp-…`). */
const SAVE_TEMP_MARKER = '.wdp-tmp-';

/**
 * A save's temp folder whose writer cannot be checked (another host, or named before writers
 * were recorded) is a killed save's once it is this old: a save writes its files in minutes, and
 * the folder's time moves with every file it gets.
 */
export const STALE_SAVE_MS = 24 * 60 * 60 * 1000;

/** Whether `uri` names a save's temp folder (`.<name>.wdp-tmp-…`): never a model, whatever it holds. */
export function isSaveTempFolder(uri: string): boolean {
  const last = uri.replace(/\/+$/, '').split('/').pop() ?? '';
  return last.startsWith('.') && last.includes(SAVE_TEMP_MARKER);
}

/** What marks the folder a replacing save moves the old model into (`.<name>.wdp-old-…`, save-old.ts). */
export const SAVE_OLD_MARKER = '.wdp-old-';

/** The temp folder name for a save to a target named `name`, recording this process as its writer. */
export function saveTempName(name: string, random: string): string {
  return `.${name}${SAVE_TEMP_MARKER}${writerTag()}-${random}`;
}

/**
 * The folder name the same save moves the replaced model into: the writer and random part are the
 * temp folder's, so the two folders of one save are found from each other.
 */
export function saveOldName(name: string, random: string): string {
  return `.${name}${SAVE_OLD_MARKER}${writerTag()}-${random}`;
}

/**
 * This process in a folder name: `<pid>-<host tag>`, then its start (processStart's
 * `<boot>:<ticks>` written `<boot>.<ticks>`, as ':' is not allowed in a Windows file name) where known.
 */
function writerTag(): string {
  const start = thisProcessStart();
  return `${process.pid}-${hostTag()}${start ? `-${start.replace(':', '.')}` : ''}`;
}

/** A save's writer as its folder name records it (`<pid>-<host tag>[-<start>]-<random>` after the marker); undefined for older names. */
export function saveFolderWriter(rest: string): { pid: number; host: string; start?: string; random: string } | undefined {
  const owner = /^(\d+)-([0-9a-f]{8})(?:-([0-9a-f]{8})\.(\d+))?-([0-9a-f]+)$/.exec(rest);
  if (!owner) return undefined;
  const start = owner[3] !== undefined ? { start: `${owner[3]}:${owner[4]}` } : {};
  return { pid: Number(owner[1]), host: owner[2]!, ...start, random: owner[5]! };
}

/** Whether the save that named its folder `writer` is a process of this host that still runs (this one included). */
export function saveWriterRunsHere(writer: { pid: number; host: string; start?: string }): boolean {
  return writer.host === hostTag() && ownerRuns(writer.pid, writer.start);
}

/**
 * Removes the temp folders of killed saves to `path` (`.<name>.wdp-tmp-…` beside it): those whose
 * recorded writer is a process of this host that no longer exists, and any older than
 * STALE_SAVE_MS (a writer on another host, or a name from before writers were recorded). A live
 * save's folder is left alone, so two saves racing to one target do not undo each other.
 * Best effort: a folder that cannot be removed is left for the next save.
 * @returns the folders removed
 */
export async function removeStaleSaveTemps(path: string, now = Date.now()): Promise<string[]> {
  const prefix = `.${basename(path)}${SAVE_TEMP_MARKER}`;
  const dir = dirname(path);
  const names = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const removed: string[] = [];
  for (const d of names) {
    if (!d.isDirectory() || !d.name.startsWith(prefix)) continue;
    const p = join(dir, d.name);
    // With its `.wdp-old-` pair beside it, the save was killed between its two renames: this
    // folder holds the whole new model and the pair the old one. Both are kept for the user to
    // finish or undo that save (save-old.ts says how); removing this one would lose the new model.
    // (Saves before old folders recorded their writer named them by the random part alone.)
    const rest = d.name.slice(prefix.length);
    const owner = saveFolderWriter(rest);
    const pairs = new Set([rest, owner?.random].map((r) => `.${basename(path)}${SAVE_OLD_MARKER}${r}`));
    if (names.some((n) => pairs.has(n.name))) continue;
    const deadHere = owner !== undefined && owner.host === hostTag() && !saveWriterRunsHere(owner);
    const s = deadHere ? undefined : await stat(p).catch(() => undefined);
    if (!deadHere && !(s && now - s.mtimeMs > STALE_SAVE_MS)) continue;
    await rm(p, { recursive: true, force: true }).then(
      () => removed.push(p),
      () => undefined,
    );
  }
  return removed;
}
