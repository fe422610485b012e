/**
 * Embedding tables left in a local model's serving file instead of being copied into memory.
 *
 * Why: at the paper shape the tables are 230 of the serving file's 246 MB, and copying them into
 * a process's fresh memory is most of a cold start on a VM, where every fresh page is a trip to
 * the hypervisor (~16 µs a page on this project's VM: ~1 s for the tables; README "Scoring
 * speed"). Read from the page cache through a small buffer, the same bytes hash in ~0.2 s. So a
 * scoring load from a folder hashes the whole file as always, keeps only the small tensors, and
 * leaves the tables where they are:
 *   - ONNX Runtime memory-maps the item tables it gathers straight from the file (external
 *     initializers, onnx-split-tower.ts): page-cache pages, shared by every process serving the
 *     model, mapped as requests touch them;
 *   - the few user rows a request needs are read by position (`readRows`);
 *   - a path that needs a whole table in memory (the plain-JS tower, list features pooled per
 *     candidate) reads it once (`readTable`).
 *
 * Trust: the sha256 covers every byte, read through one descriptor. This descriptor is opened
 * afterwards and must be the same file (device, inode, size, mtime), and so must the path ONNX
 * Runtime maps when a session is built (`unchanged`). Model files are written once and replaced
 * only by rename (a save over the folder), so once the path names another file, ServingModel
 * stops mapping and reads the tables through this descriptor, still the checked file. What this
 * cannot see is a write into the same inode after the check; a copy in memory could not be
 * changed that way. Worse, a file cut short in place (`cp` over it truncates it) makes ONNX
 * Runtime's next gather from a page past the new end fault with SIGBUS, which kills the process
 * (measured; the row reads here see the short file and throw instead). wdp never writes a
 * model's files in place. `WDP_MAP_TABLES=0` (or `mapTables: false`) keeps the copy.
 */
import { closeSync, fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { FileIdentity } from '../storage/read-worker.ts';
import { ModelLoadError } from './errors.ts';

/** Tensors under this prefix, of at least MAPPED_TABLE_MIN_BYTES, are left in the file. */
export const MAPPED_TABLE_PREFIX = 'embedding/';
/** Smaller tables are copied: mapping them saves nothing worth a read per row. */
export const MAPPED_TABLE_MIN_BYTES = 1 << 20;

/** Env switch: `0` copies every table into memory, as before tables were mapped. */
export const MAP_TABLES_ENV = 'WDP_MAP_TABLES';

/** Whether a model at `uri` has its tables mapped unless told otherwise: local folders, unless WDP_MAP_TABLES=0. */
export function mapsTablesByDefault(uri: string): boolean {
  return !uri.startsWith('s3://') && process.env[MAP_TABLES_ENV] !== '0';
}

/** Where one table's rows are in the file. */
export interface MappedTable {
  /** Its first byte, from the file's start. */
  readonly byteOffset: number;
  readonly rows: number;
  readonly dim: number;
}

function sameFile(
  a: FileIdentity,
  b: { dev: number | bigint; ino: number | bigint; size: number | bigint; mtimeMs: number | bigint },
): boolean {
  return a.dev === Number(b.dev) && a.ino === Number(b.ino) && a.size === Number(b.size) && a.mtimeMs === Number(b.mtimeMs);
}

// A scorer dropped without dispose() (an evicted cache entry) must not hold its descriptor forever.
const closer = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
});

export class MappedTables {
  /** The serving file's path, its folder and its name (ONNX Runtime resolves external data by folder + name). */
  readonly path: string;
  readonly folder: string;
  readonly fileName: string;
  readonly tables: ReadonlyMap<string, MappedTable>;
  readonly #uri: string;
  readonly #identity: FileIdentity;
  #fd: number | undefined;

  private constructor(uri: string, givenPath: string, fd: number, identity: FileIdentity, tables: ReadonlyMap<string, MappedTable>) {
    this.#uri = uri;
    // The file's real path: ONNX Runtime refuses external data whose resolved path leaves the
    // folder it is given, so a serving file that is a symlink (git-annex, DVC, a hand-made link)
    // is mapped from where it really is, and checked there.
    let path = givenPath;
    try {
      path = realpathSync(givenPath);
    } catch {
      // Gone already: `unchanged` will say so.
    }
    this.path = path;
    this.folder = dirname(path);
    this.fileName = basename(path);
    this.tables = tables;
    this.#identity = identity;
    this.#fd = fd;
    closer.register(this, fd, this);
  }

  /**
   * Opens `path` for row reads. `identity` is the file as the checked read saw it.
   * @throws ModelLoadError when the file is no longer that one (replaced while it was being read)
   */
  static open(uri: string, path: string, identity: FileIdentity, tables: ReadonlyMap<string, MappedTable>): MappedTables {
    const fd = openFile(uri, path);
    if (!sameFile(identity, fstatSync(fd))) {
      closeSync(fd);
      throw changed(uri, basename(path));
    }
    return new MappedTables(uri, path, fd, identity, tables);
  }

  /**
   * Opens `path` before it is checked, for a session built ahead of the check (Scorer's plan
   * ahead). It may serve only once `sameAs` has found it the checked load's file and tables.
   */
  static openUnchecked(uri: string, path: string, tables: ReadonlyMap<string, MappedTable>): MappedTables {
    const fd = openFile(uri, path);
    const st = fstatSync(fd);
    return new MappedTables(uri, path, fd, { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs }, tables);
  }

  /** Whether `other` maps the same file (device, inode, size, mtime) and the same tables at the same places. */
  sameAs(other: MappedTables): boolean {
    if (this.path !== other.path || !sameFile(this.#identity, other.#identity) || this.tables.size !== other.tables.size) return false;
    for (const [f, t] of this.tables) {
      const o = other.tables.get(f);
      if (!o || o.byteOffset !== t.byteOffset || o.rows !== t.rows || o.dim !== t.dim) return false;
    }
    return true;
  }

  /**
   * Throws unless the path is still the file that was checked: call after ONNX Runtime has opened
   * it by path (a session built), so a file renamed over it meanwhile is not served.
   * @throws ModelLoadError
   */
  assertUnchanged(): void {
    if (!this.unchanged()) throw this.#changed();
  }

  /** Whether the path still names the file that was checked (device, inode, size, mtime). */
  unchanged(): boolean {
    try {
      return sameFile(this.#identity, statSync(this.path));
    } catch {
      return false;
    }
  }

  /**
   * Rows `ids[start..end)` of `feature`'s table, one after another ([end − start] × dim).
   * The ids must be rows of the table (the encoder's ids always are).
   */
  readRows(feature: string, ids: ArrayLike<number>, start: number, end: number): Float32Array {
    const t = this.#table(feature);
    const rowBytes = t.dim * 4;
    const out = new Float32Array((end - start) * t.dim);
    const bytes = new Uint8Array(out.buffer);
    for (let k = start; k < end; k++) {
      const id = ids[k]!;
      if (!(id >= 0 && id < t.rows)) throw new RangeError(`row ${id} is outside ${feature}'s ${t.rows}-row table`);
      this.#read(bytes, (k - start) * rowBytes, rowBytes, t.byteOffset + id * rowBytes);
    }
    return out;
  }

  /** The whole table of `feature`, read into memory (for paths that need it all). */
  readTable(feature: string): Float32Array {
    const t = this.#table(feature);
    const out = new Float32Array(t.rows * t.dim);
    this.#read(new Uint8Array(out.buffer), 0, out.byteLength, t.byteOffset);
    return out;
  }

  /** Closes the descriptor; later reads throw. ONNX Runtime's mappings are its sessions' own. */
  close(): void {
    if (this.#fd === undefined) return;
    closer.unregister(this);
    closeSync(this.#fd);
    this.#fd = undefined;
  }

  #table(feature: string): MappedTable {
    const t = this.tables.get(feature);
    if (!t) throw new RangeError(`no mapped table for "${feature}"`);
    return t;
  }

  #read(into: Uint8Array, at: number, length: number, position: number): void {
    if (this.#fd === undefined) throw new ModelLoadError(this.#uri, `${this.fileName} was closed (the scorer was disposed)`);
    let done = 0;
    while (done < length) {
      const n = readSync(this.#fd, into, at + done, length - done, position + done);
      if (n === 0)
        throw new ModelLoadError(this.#uri, `${this.fileName} ended at byte ${position + done}: it changed after it was checked`);
      done += n;
    }
  }

  #changed(): ModelLoadError {
    return changed(this.#uri, this.fileName);
  }
}

function openFile(uri: string, path: string): number {
  try {
    return openSync(path, 'r');
  } catch (e) {
    throw new ModelLoadError(uri, `cannot open ${basename(path)} to map its tables: ${(e as Error).message}`, { cause: e });
  }
}

function changed(uri: string, fileName: string): ModelLoadError {
  return new ModelLoadError(
    uri,
    `${fileName} changed after it was checked (another file was put in its place while the model loaded); load the model again`,
  );
}
