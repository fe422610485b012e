/**
 * The one way wdp reads a small JSON document from a BlobStore (a model manifest, a config, the
 * workflow's registry, watermark and pointers): read the bytes, refuse them above a size limit,
 * JSON.parse, validate with a zod schema. Every failure is a JsonDocumentError that names the
 * document's URI and, for a schema failure, the first bad field's path; callers wrap it in their
 * own error class (ModelLoadError, ConfigError, WorkflowError) without losing either.
 */
import type { z } from 'zod';
import { WdpError } from '../util/errors.ts';

/** Which step refused the document. */
export type JsonDocumentProblem = 'too-large' | 'not-json' | 'schema';

export class JsonDocumentError extends WdpError {
  readonly uri: string;
  readonly problem: JsonDocumentProblem;
  /** Dotted path of the first bad field; '' for the root or when the problem is not the schema. */
  readonly field: string;
  /** The message without the URI and field, for callers whose own error names the document. */
  readonly detail: string;
  constructor(uri: string, problem: JsonDocumentProblem, field: string, detail: string, options?: ErrorOptions) {
    super(problem === 'schema' ? `${uri} field ${field || '(root)'}: ${detail}` : `${uri} ${detail}`, options);
    this.uri = uri;
    this.problem = problem;
    this.field = field;
    this.detail = detail;
  }
}

/**
 * Validates an already-parsed value against `schema`.
 * @param uri names the document in errors (a URI, a path, or a label such as 'tiny')
 * @throws JsonDocumentError naming the first bad field, and how many more there are
 */
export function validateJsonDocument<S extends z.ZodType>(value: unknown, uri: string, schema: S): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues;
  const first = issues[0];
  const field = first ? first.path.map(String).join('.') : '';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem(s))` : '';
  throw new JsonDocumentError(uri, 'schema', field, `${first?.message ?? 'invalid'}${more}`, { cause: r.error });
}

/**
 * Size check, JSON.parse and validation of a document's bytes (or text) already in memory.
 * @throws JsonDocumentError
 */
export function parseJsonDocument<S extends z.ZodType>(
  content: Uint8Array | string,
  uri: string,
  schema: S,
  options: { readonly maxBytes: number },
): z.output<S> {
  const size = typeof content === 'string' ? Buffer.byteLength(content, 'utf8') : content.length;
  checkSize(uri, size, options.maxBytes);
  const text = typeof content === 'string' ? content : Buffer.from(content.buffer, content.byteOffset, content.length).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new JsonDocumentError(uri, 'not-json', '', `is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  return validateJsonDocument(json, uri, schema);
}

/**
 * Reads the document at `uri` from its store and validates it.
 * @returns the validated value, or undefined when there is no such document
 * @throws JsonDocumentError for a document that is too large (checked before reading it), not
 *   JSON or invalid; StorageError when the store fails
 * @example
 *   const registry = await readJsonDocument('s3://b/registry/registry.json', registrySchema, { maxBytes: 16 << 20 });
 */
export async function readJsonDocument<S extends z.ZodType>(
  uri: string,
  schema: S,
  options: { readonly maxBytes: number },
): Promise<z.output<S> | undefined> {
  // Imported on first read, so code that only parses (a config object or text) never loads the AWS SDK.
  const { storeFor } = await import('./index.ts');
  const store = storeFor(uri);
  const info = await store.stat(uri);
  if (!info) return undefined;
  // Refuse before reading: a huge object must not be pulled into memory just to be rejected.
  checkSize(uri, info.sizeBytes, options.maxBytes);
  return parseJsonDocument(await store.read(uri), uri, schema, options);
}

function checkSize(uri: string, size: number, maxBytes: number): void {
  if (size > maxBytes) throw new JsonDocumentError(uri, 'too-large', '', `is ${size} bytes, over the limit of ${maxBytes} bytes`);
}

/**
 * readJsonDocument, plus the etag of the version read: for a compare-and-swap update, write it
 * back with `{ ifMatch: etag }`.
 * @returns undefined when there is no such document
 */
export async function readVersionedJsonDocument<S extends z.ZodType>(
  uri: string,
  schema: S,
  options: { readonly maxBytes: number },
): Promise<{ readonly value: z.output<S>; readonly etag: string } | undefined> {
  const { storeFor } = await import('./index.ts');
  const store = storeFor(uri);
  const info = await store.stat(uri);
  if (!info) return undefined;
  checkSize(uri, info.sizeBytes, options.maxBytes);
  const blob = await store.readVersioned(uri);
  if (!blob) return undefined;
  return { value: parseJsonDocument(blob.data, uri, schema, options), etag: blob.etag };
}
