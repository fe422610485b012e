/** Small JSON documents in a BlobStore (registry, watermark, pointers, run manifests), validated with zod on every read. */
import type { z } from 'zod';
import { storeFor, type WriteCondition } from '../../storage/index.ts';
import { JsonDocumentError, readJsonDocument, readVersionedJsonDocument } from '../../storage/json-document.ts';
import { WorkflowError } from '../errors.ts';

/**
 * The workflow's documents stay far below this; it only stops a wrong or hostile object (say a
 * log file written at a state path) from being read whole into a Lambda's memory.
 */
export const MAX_STATE_DOCUMENT_BYTES = 16 << 20;

/**
 * The document at `uri`, validated; undefined when there is none.
 * @throws WorkflowError naming the URI (and the field) when it is too large, not JSON or invalid
 */
export async function readJson<S extends z.ZodType>(uri: string, schema: S): Promise<z.output<S> | undefined> {
  try {
    return await readJsonDocument(uri, schema, { maxBytes: MAX_STATE_DOCUMENT_BYTES });
  } catch (e) {
    if (e instanceof JsonDocumentError) throw new WorkflowError(e.message, { cause: e });
    throw e;
  }
}

/** A document with the version it was read at, to write it back only if nobody else did meanwhile. */
export interface VersionedJson<T> {
  readonly value: T;
  readonly etag: string;
}

/**
 * The document at `uri`, validated, with its etag; undefined when there is none. Pass the etag
 * to writeJson as `{ ifMatch }` for a compare-and-swap update.
 * @throws WorkflowError naming the URI (and the field) when it is too large, not JSON or invalid
 */
export async function readJsonVersioned<S extends z.ZodType>(uri: string, schema: S): Promise<VersionedJson<z.output<S>> | undefined> {
  try {
    return await readVersionedJsonDocument(uri, schema, { maxBytes: MAX_STATE_DOCUMENT_BYTES });
  } catch (e) {
    if (e instanceof JsonDocumentError) throw new WorkflowError(e.message, { cause: e });
    throw e;
  }
}

/**
 * Writes `value` as pretty JSON. With a condition it is a create-only (`{ ifNoneMatch: '*' }`) or
 * compare-and-swap (`{ ifMatch: etag }`) write that throws StoragePreconditionError when it loses.
 */
export async function writeJson(uri: string, value: unknown, condition?: WriteCondition): Promise<{ readonly etag: string }> {
  return storeFor(uri).write(uri, `${JSON.stringify(value, null, 2)}\n`, condition);
}
