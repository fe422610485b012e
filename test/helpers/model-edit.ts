/**
 * Edits a saved model folder as a tester (or a writer of the bucket) would: one value of one
 * tensor written in place, or the manifest changed, then the manifest's file entries and its
 * digest brought up to date ("re-signed"), so that every size and sha256 check passes and only
 * the loader's other checks can refuse the result.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { manifestDigestLine } from '../../src/model/manifest.ts';

/** Writes `value` (as float32) at element `index` of tensor `tensor` of the safetensors file, in place. */
export async function setTensorValue(file: string, tensor: string, index: number, value: number): Promise<void> {
  const bytes = await readFile(file);
  const headerLen = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLen).toString('utf8')) as Record<
    string,
    { dtype: string; data_offsets: [number, number] }
  >;
  const t = header[tensor];
  if (t?.dtype !== 'F32') throw new Error(`${file} has no float32 tensor ${tensor}`);
  const at = 8 + headerLen + t.data_offsets[0] + 4 * index;
  if (at + 4 > 8 + headerLen + t.data_offsets[1]) throw new Error(`${tensor} has no element ${index}`);
  bytes.writeFloatLE(value, at);
  await writeFile(file, bytes);
}

/** A manifest.json as plain JSON, for a test to edit. */
export type ManifestJson = Record<string, unknown> & { files: Record<string, { sha256: string; bytes: number }> };

/**
 * Applies `edit` to the folder's manifest.json, sets every listed file's size and sha256 to what
 * is on disk, and writes the manifest and a matching manifest.sha256 (`sha256sum manifest.json >
 * manifest.sha256`), unless `digest: false` (then manifest.sha256 is left as it is).
 */
export async function resign(folder: string, edit: (m: ManifestJson) => void = () => {}, o: { digest?: boolean } = {}): Promise<void> {
  const m = JSON.parse(await readFile(join(folder, 'manifest.json'), 'utf8')) as ManifestJson;
  edit(m);
  for (const name of Object.keys(m.files)) {
    const bytes = await readFile(join(folder, name));
    m.files[name] = { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
  }
  const text = Buffer.from(JSON.stringify(m, null, 2), 'utf8');
  await writeFile(join(folder, 'manifest.json'), text);
  if (o.digest !== false) await writeFile(join(folder, 'manifest.sha256'), manifestDigestLine(text));
}
