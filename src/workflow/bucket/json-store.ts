/** Small JSON documents in a BlobStore, validated with zod on every read. */
import type { z } from 'zod';
import { storeFor } from '../../storage/index.ts';
import { WorkflowError } from '../errors.ts';

export async function readJson<S extends z.ZodType>(uri: string, schema: S): Promise<z.output<S> | undefined> {
  const store = storeFor(uri);
  if (!(await store.stat(uri))) return undefined;
  const text = Buffer.from(await store.read(uri)).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new WorkflowError(`${uri} is not JSON: ${(e as Error).message}`, { cause: e });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new WorkflowError(`${uri} does not match its schema: ${parsed.error.message}`);
  return parsed.data;
}

export async function writeJson(uri: string, value: unknown): Promise<void> {
  await storeFor(uri).write(uri, `${JSON.stringify(value, null, 2)}\n`);
}
