/**
 * How the bucket's state documents (watermark, registry, serving pointer, quarantine list) name
 * the bucket's objects, so that what is recorded depends neither on the working directory nor on
 * how the bucket was spelled (`.wdp/bucket`, `./.wdp/bucket`, `/home/me/repo/.wdp/bucket`).
 *
 * - A local bucket records bucket-relative keys (`models/registry/v2`), and each document written
 *   so says it with `"keys": "bucket-relative"`. Read back, a key becomes a URI under the bucket as
 *   this process spells it, the same string layout() builds, so comparisons with listings and
 *   layout URIs hold.
 * - An S3 bucket records full `s3://bucket/key` URIs, unchanged: the scoring Lambda reads the
 *   registry's champion and WDP_MODEL_URI as URIs.
 * - A document without the marker (written by an older version) holds local paths as its writer
 *   spelled them: relative ones resolve against the working directory, as the writer's did, and
 *   must land inside the bucket. The next write of the document records keys.
 *
 * Whatever the format, a recorded location outside the bucket is refused when read, naming the
 * document and the path: a hand-edited or tampered document must not make the workflow read,
 * serve or warm-start from something outside the bucket.
 *
 * One exception, in the watermark's `files` only: a log file key an older wdp recorded that is not
 * a safe key (a backslash or a control character in the name; on S3, where keys are literal, also
 * a ".." segment) is kept as recorded history. Ingest now skips such files, so no run reads one;
 * refusing the entry failed every run at Ingest until someone edited the watermark by hand.
 */
import path from 'node:path';
import { checkKey, isS3Uri, joinUri, toPath, UnsafeKeyError } from '../../storage/index.ts';
import { quoted } from '../../util/terminal-text.ts';
import { WorkflowError } from '../errors.ts';
import type { BucketLayout } from './layout.ts';
import type { Quarantine, Registry, Watermark } from '../schemas.ts';

/** The marker value of a document whose local locations are bucket-relative keys. */
export const BUCKET_RELATIVE = 'bucket-relative';

/** The marker field a state document may carry. */
export interface KeysMarker {
  readonly keys?: typeof BUCKET_RELATIVE | undefined;
}

/** A recorded location that is not inside the bucket (or not a valid key): refused. */
export class BucketPathError extends WorkflowError {
  constructor(
    readonly document: string,
    readonly recorded: string,
    detail: string,
  ) {
    super(`${document} names ${quoted(recorded)}, ${detail}; refusing to use it`);
  }
}

/** True when the bucket records keys (a local folder) rather than full URIs (S3). */
export function recordsKeys(l: BucketLayout): boolean {
  return !isS3Uri(l.bucketUri);
}

/** The marker to write into a document whose locations went through recordUri(). */
export function keysMarker(l: BucketLayout): KeysMarker {
  return recordsKeys(l) ? { keys: BUCKET_RELATIVE } : {};
}

/**
 * What a document records for `uri`: its key for a local bucket, the URI itself on S3.
 * @throws BucketPathError when `uri` is outside a local bucket
 */
export function recordUri(l: BucketLayout, uri: string, document: string): string {
  if (!recordsKeys(l)) return uri;
  const key = localKey(l, toPath(uri));
  if (key === undefined) throw new BucketPathError(document, uri, `which is outside the bucket ${l.bucketUri}`);
  return key;
}

/**
 * The URI (as this process spells the bucket) of a location read from `document`, whose marker
 * is `marker`.
 * @throws BucketPathError when it is outside the bucket or not a valid key
 */
export function resolveRecordedUri(l: BucketLayout, recorded: string, marker: KeysMarker, document: string): string {
  if (isS3Uri(l.bucketUri)) {
    // S3 documents keep full URIs; one elsewhere than under this bucket (another bucket, `..`) is refused.
    const root = `${l.bucketUri.replace(/\/+$/, '')}/`;
    if (!recorded.startsWith(root)) throw new BucketPathError(document, recorded, `which is not under the bucket ${l.bucketUri}`);
    return joinUri(root.slice(0, -1), keyOrThrow(recorded.slice(root.length), recorded, document));
  }
  if (marker.keys === BUCKET_RELATIVE) {
    if (recorded.startsWith('/') || recorded.startsWith('file:'))
      throw new BucketPathError(document, recorded, 'which is not a bucket-relative key');
    return joinUri(l.bucketUri, keyOrThrow(recorded, recorded, document));
  }
  // Older documents: the path as its writer spelled it, relative to the writer's working directory.
  const key = localKey(l, toPath(recorded));
  if (key === undefined)
    throw new BucketPathError(
      document,
      recorded,
      `which resolves to ${toPath(recorded)}, outside the bucket ${l.bucketUri} (${toPath(l.bucketUri)}); a document written by an older wdp names paths relative to the directory it ran in: run from that directory once to rewrite it with bucket-relative keys`,
    );
  return key === '' ? l.bucketUri : joinUri(l.bucketUri, key);
}

/** The key of an absolute local path inside the bucket ('' for the root itself); undefined outside it. */
function localKey(l: BucketLayout, absolute: string): string | undefined {
  const rel = path.relative(toPath(l.bucketUri), absolute);
  if (rel === '') return '';
  if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) return undefined;
  return rel.split(path.sep).join('/');
}

function keyOrThrow(key: string, recorded: string, document: string): string {
  try {
    checkKey(document, key);
  } catch (e) {
    if (e instanceof UnsafeKeyError) throw new BucketPathError(document, recorded, `which is not a key inside the bucket (${e.message})`);
    throw e;
  }
  if (key === '') throw new BucketPathError(document, recorded, 'which is the bucket itself, not an object in it');
  return key;
}

/** The watermark as stored: its file URIs recorded (keys for a local bucket). */
export function recordWatermark(l: BucketLayout, w: Watermark): Watermark {
  const { keys: _, ...rest } = w;
  const root = bucketRoot(l);
  const record = (uri: string) => {
    // A history-only entry (see resolveWatermark) goes back exactly as it was recorded: through
    // recordUri a folder bucket would normalise the path it never names.
    const key = uri.startsWith(root) ? uri.slice(root.length) : undefined;
    if (key !== undefined && historyOnlyReason(l, key) !== undefined) return recordsKeys(l) ? key : uri;
    return recordUri(l, uri, l.watermark);
  };
  const files: Watermark['files'] = {};
  for (const [day, refs] of Object.entries(w.files)) files[day] = refs.map((f) => ({ ...f, uri: record(f.uri) }));
  return { ...rest, files, ...keysMarker(l) };
}

/**
 * The stored watermark with URIs under the bucket as this process spells it (and no marker). A file
 * entry whose key an older wdp recorded but is not a safe key (module comment) stays, as
 * `<bucket>/<key>` verbatim: it matches no listed file, so nothing reads it (historyOnlyFiles).
 * @throws BucketPathError for any other location outside the bucket or invalid key
 */
export function resolveWatermark(l: BucketLayout, w: Watermark): Watermark {
  const { keys: _, ...rest } = w;
  const root = bucketRoot(l);
  const resolve = (recorded: string) => {
    const key = recordedKey(l, recorded, w);
    if (key !== undefined && historyOnlyReason(l, key) !== undefined) return root + key;
    return resolveRecordedUri(l, recorded, w, l.watermark);
  };
  const files: Watermark['files'] = {};
  for (const [day, refs] of Object.entries(w.files)) files[day] = refs.map((f) => ({ ...f, uri: resolve(f.uri) }));
  return { ...rest, files };
}

/** A watermark file entry kept only as history: never read (see resolveWatermark). */
export interface HistoryOnlyFile {
  readonly day: string;
  readonly uri: string;
  /** Why its key is not a safe key (UnsafeKeyError's detail). */
  readonly reason: string;
}

/** The entries of a resolved watermark kept only as history, by day and URI. */
export function historyOnlyFiles(l: BucketLayout, w: Watermark): HistoryOnlyFile[] {
  const root = bucketRoot(l);
  const found: HistoryOnlyFile[] = [];
  for (const [day, refs] of Object.entries(w.files).sort(([a], [b]) => (a < b ? -1 : 1)))
    for (const f of refs) {
      const reason = f.uri.startsWith(root) ? historyOnlyReason(l, f.uri.slice(root.length)) : undefined;
      if (reason !== undefined) found.push({ day, uri: f.uri, reason });
    }
  return found;
}

/** The bucket's URI with one trailing slash: what joinUri puts before a key. */
function bucketRoot(l: BucketLayout): string {
  return `${l.bucketUri.replace(/\/+$/, '')}/`;
}

/** The key a watermark records for a file, when it names one inside the bucket; undefined otherwise (refused by resolveRecordedUri). */
function recordedKey(l: BucketLayout, recorded: string, marker: KeysMarker): string | undefined {
  if (!recordsKeys(l)) {
    const root = bucketRoot(l);
    return recorded.startsWith(root) ? recorded.slice(root.length) : undefined;
  }
  if (marker.keys === BUCKET_RELATIVE) return recorded.startsWith('/') || recorded.startsWith('file:') ? undefined : recorded;
  const key = localKey(l, toPath(recorded));
  return key === '' ? undefined : key;
}

/**
 * Why `key` is kept only as history: not a safe key, yet naming nothing outside the bucket. In a
 * folder a ".." segment would (refused as ever); an S3 key is literal. Undefined for a safe key.
 */
function historyOnlyReason(l: BucketLayout, key: string): string | undefined {
  try {
    checkKey(l.watermark, key);
    return undefined;
  } catch (e) {
    if (!(e instanceof UnsafeKeyError)) throw e;
    if (recordsKeys(l) && key.split('/').includes('..')) return undefined;
    return e.detail;
  }
}

/** The registry as stored: every model, candidate and report location recorded. */
export function recordRegistry(l: BucketLayout, r: Registry): Registry {
  const { keys: _, ...rest } = r;
  const rec = (uri: string) => recordUri(l, uri, l.registry);
  return { ...rest, ...mapRegistry(r, rec), ...keysMarker(l) };
}

/** The stored registry with its locations resolved (and no marker). */
export function resolveRegistry(l: BucketLayout, r: Registry): Registry {
  const { keys: _, ...rest } = r;
  const res = (uri: string) => resolveRecordedUri(l, uri, r, l.registry);
  return { ...rest, ...mapRegistry(r, res) };
}

function mapRegistry(r: Registry, f: (uri: string) => string): Pick<Registry, 'champion' | 'history'> {
  return {
    champion: r.champion ? { ...r.champion, uri: f(r.champion.uri) } : null,
    history: r.history.map((e) => ({
      ...e,
      uri: f(e.uri),
      candidateUri: f(e.candidateUri),
      reportUri: f(e.reportUri),
      ...(e.quarantined ? { quarantined: e.quarantined.map((q) => ({ ...q, uri: f(q.uri) })) } : {}),
    })),
  };
}

/** The quarantine list as stored. */
export function recordQuarantineList(l: BucketLayout, q: Quarantine): Quarantine {
  const { keys: _, ...rest } = q;
  return { ...rest, files: q.files.map((f) => ({ ...f, uri: recordUri(l, f.uri, l.quarantine) })), ...keysMarker(l) };
}

/** The stored quarantine list with its URIs resolved (and no marker). */
export function resolveQuarantineList(l: BucketLayout, q: Quarantine): Quarantine {
  const { keys: _, ...rest } = q;
  return { ...rest, files: q.files.map((f) => ({ ...f, uri: resolveRecordedUri(l, f.uri, q, l.quarantine) })) };
}
