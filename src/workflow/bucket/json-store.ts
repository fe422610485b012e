/** Small JSON documents in a BlobStore (registry, watermark, pointers, run manifests), validated with zod on every read. */
import type { z } from 'zod';
import { storeFor } from '../../storage/index.ts';
import { JsonDocumentError, readJsonDocument } from '../../storage/json-document.ts';
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

export async function writeJson(uri: string, value: unknown): Promise<void> {
  await storeFor(uri).write(uri, `${JSON.stringify(value, null, 2)}\n`);
}
