/**
 * The model folder's manifest.json: what the model is (kind, config, fitted transforms, tower
 * shape), where it came from (parent, training data, metrics), and the size and sha256 of every
 * other file. Typed by the same schemas that validate a config and a transform state, so its
 * readers need no casts. Read alone by registries and listings, which need no weights.
 *
 * The manifest's own sha256 is in manifest.sha256 (a `sha256sum` line, so `sha256sum -c
 * manifest.sha256` checks it by hand), written after manifest.json by saveModelArtifact and
 * copyModelFiles (artifact.ts). The manifest decides how every other byte is read (vocabularies,
 * quantiles, shapes): without its digest an edited token loads and silently changes scores.
 * Since format 2 the digest is the folder's commit marker: a format-2 manifest without one is a
 * save or copy that did not finish, and is refused. Format-1 folders (written before the digest
 * existed) load with a warning, their manifest unchecked; a digest added beside one by hand
 * (`sha256sum manifest.json > manifest.sha256`) is checked like any other.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { configSchema, MODEL_KINDS, type WdpConfig, withoutFilledWideBuckets } from '../config/schema.ts';
import type { FeatureTransforms } from '../features/transforms.ts';
import { transformStateSchema } from '../features/state.ts';
import { joinUri, storeFor } from '../storage/index.ts';
import { JsonDocumentError, parseJsonDocument } from '../storage/json-document.ts';
import { ModelLoadError } from './errors.ts';
import { isSaveTempFolder } from './save-temp.ts';

/** Format versions this build can read, newest last. */
export const KNOWN_MODEL_FORMATS = {
  1: 'manifest.json + wide/embeddings/tower safetensors, float32; no manifest digest (loads with a warning)',
  2: 'format 1 + manifest.sha256, written last and required; no tower.onnx',
} as const;
export const MODEL_FORMAT_VERSION = 2;
/** The first format whose folders must hold MANIFEST_DIGEST_FILE. */
const DIGEST_REQUIRED_FROM = 2;
export const MANIFEST_FILE = 'manifest.json';
/** The sha256 of manifest.json, as `sha256sum` prints it; written after the manifest. */
export const MANIFEST_DIGEST_FILE = 'manifest.sha256';
/** Manifests above this size are refused before reading. */
const MAX_MANIFEST_BYTES = 64 << 20;
/** A digest line is 80 bytes; anything much larger is not one (and is not read into memory). */
const MAX_DIGEST_BYTES = 1024;

/**
 * Training's history as the manifest records it under `training` (read by reports and `--plot`).
 * `lossCurve` is the mean train loss per stretch of ~1/100 of an epoch; `validationCurve` has one
 * point per validation pass when training evaluated a validation set, and `bestEpoch` is the epoch
 * whose weights were kept (early stopping). Older manifests have none of these.
 */
export const trainingHistorySchema = z.looseObject({
  lossCurve: z.array(z.object({ examples: z.number(), loss: z.number(), epoch: z.number() })).optional(),
  validationCurve: z.array(z.object({ examples: z.number(), epoch: z.number(), logloss: z.number(), auc: z.number() })).optional(),
  bestEpoch: z.number().int().optional(),
  examplesPerSecond: z.number().optional(),
});
export type TrainingHistory = z.output<typeof trainingHistorySchema>;

/** The manifest's training history, or empty when it has none (or an unreadable one). */
export function trainingHistory(manifest: Pick<ModelManifest, 'training'>): TrainingHistory {
  const parsed = trainingHistorySchema.safeParse(manifest.training);
  return parsed.success ? parsed.data : {};
}

const fileEntry = z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().min(0) }).strict();

export const manifestSchema = z
  .object({
    formatVersion: z.number().int(),
    modelId: z.string().min(1).max(200),
    createdAt: z.string(),
    kind: z.enum(MODEL_KINDS),
    /**
     * The validated config the model was trained with (defaults filled in, so parsing it again
     * changes nothing). Older manifests' filled-in wideBuckets beside boundaries is dropped first.
     */
    config: z.preprocess(withoutFilledWideBuckets, configSchema),
    /** FeatureTransforms state (FeatureTransforms.fromState adds the cross-field consistency checks). */
    transforms: transformStateSchema,
    tower: z.object({ inputDim: z.number().int(), hiddenUnits: z.array(z.number().int()) }).nullable(),
    metrics: z.record(z.string(), z.unknown()),
    parent: z.object({ uri: z.string(), modelId: z.string() }).nullable(),
    trainedOn: z.object({
      files: z.array(z.object({ uri: z.string(), sizeBytes: z.number() })),
      rows: z.number(),
      skippedRows: z.number(),
    }),
    training: z.record(z.string(), z.unknown()),
    files: z.record(z.string(), fileEntry),
  })
  .strict();

export type ModelManifest = z.output<typeof manifestSchema>;

/**
 * What readManifest validates: the format version first, on its own, because a manifest from a
 * newer build may have a different shape, and "unknown format version" is then the useful error.
 */
const manifestDocumentSchema = z
  .looseObject({
    formatVersion: z.unknown().superRefine((version, ctx) => {
      if (typeof version !== 'number' || !(version in KNOWN_MODEL_FORMATS)) {
        ctx.addIssue({
          code: 'custom',
          message: `unknown model format version ${JSON.stringify(version)}; this build reads ${Object.keys(KNOWN_MODEL_FORMATS).join(', ')}`,
        });
      }
    }),
  })
  .pipe(manifestSchema);

/** What the caller supplies; the artifact writer adds format version and file checksums. */
export type ManifestDraft = Omit<ModelManifest, 'formatVersion' | 'files'>;

export interface ManifestDraftInput extends Partial<Omit<ManifestDraft, 'config' | 'transforms' | 'tower' | 'kind' | 'modelId'>> {
  readonly modelId: string;
  readonly kind: ModelManifest['kind'];
  readonly config: WdpConfig;
  readonly transforms: FeatureTransforms;
  /** Whether the model has a tower (every kind but wide-only). @default true */
  readonly hasTower?: boolean;
}

/**
 * A manifest draft whose config, transforms and tower shape come from the same objects the model was
 * built from, so they cannot disagree; what is not given is empty (no metrics, no parent, no files).
 */
export function manifestDraft(o: ManifestDraftInput): ManifestDraft {
  return {
    modelId: o.modelId,
    createdAt: o.createdAt ?? new Date().toISOString(),
    kind: o.kind,
    config: o.config,
    transforms: o.transforms.toState(),
    tower: o.hasTower === false ? null : { inputDim: o.transforms.deepLayout.inputDim, hiddenUnits: [...o.config.deep.hiddenUnits] },
    metrics: o.metrics ?? {},
    parent: o.parent ?? null,
    trainedOn: o.trainedOn ?? { files: [], rows: 0, skippedRows: 0 },
    training: o.training ?? {},
  };
}

/** The MANIFEST_DIGEST_FILE content for these manifest bytes: `<sha256>  manifest.json`. */
export function manifestDigestLine(manifestBytes: Uint8Array): string {
  return `${createHash('sha256').update(manifestBytes).digest('hex')}  ${MANIFEST_FILE}\n`;
}

/** A manifest with the exact bytes it was parsed from (a copy must write these, not a re-serialization). */
export interface ManifestDocument {
  readonly manifest: ModelManifest;
  readonly bytes: Uint8Array;
  /** Whether manifest.sha256 was there and matched (false only for a format-1 folder without one). */
  readonly digestChecked: boolean;
  /** The sha256 of `bytes` (hex): names this exact manifest, and through its file entries every file's bytes. */
  readonly sha256: string;
}

/** The process warning's code when a format-1 manifest loads without a digest. */
export const UNCHECKED_MANIFEST_WARNING = 'WDP_UNCHECKED_MANIFEST';

/** Folders already warned about, so a process that reads a manifest often warns once. */
const warnedUnchecked = new Set<string>();

/**
 * Reads manifest.json and manifest.sha256 (in parallel: no extra round trip at a cold start),
 * checks the digest before trusting a byte of the manifest, then parses and validates it.
 * @throws ModelLoadError for a missing, oversized, corrupted or edited manifest, a missing or
 *   malformed digest (format ≥ 2), or an invalid manifest
 */
export async function readManifestDocument(uri: string): Promise<ManifestDocument> {
  // A save's temp folder may hold a whole model (a save killed between its two renames), but it
  // is not one: the next save to its target removes it, and a registry entry or a serving
  // config pointing at it would then point at nothing.
  if (isSaveTempFolder(uri))
    throw new ModelLoadError(
      uri,
      "it is the temporary folder of a model save (one still running, or one that was killed), not a model; the next save to the same target removes it (unless the same save's '.wdp-old-' folder is beside it), so to keep what it holds rename it to a name without '.wdp-tmp-' first",
    );
  const store = storeFor(uri);
  const manifestUri = joinUri(uri, MANIFEST_FILE);
  const digestUri = joinUri(uri, MANIFEST_DIGEST_FILE);
  let bytes: Uint8Array;
  let digestBytes: Uint8Array | undefined;
  try {
    const [info, digestInfo] = await Promise.all([store.stat(manifestUri), store.stat(digestUri)]);
    if (!info) throw new ModelLoadError(uri, `no ${MANIFEST_FILE} (not a model folder, or the save did not finish)`);
    // Sizes first: a huge object must not be pulled into memory just to be refused.
    if (info.sizeBytes > MAX_MANIFEST_BYTES)
      throw new ModelLoadError(uri, `${MANIFEST_FILE} is ${info.sizeBytes} bytes, over the limit of ${MAX_MANIFEST_BYTES} bytes`);
    if (digestInfo && digestInfo.sizeBytes > MAX_DIGEST_BYTES)
      throw new ModelLoadError(uri, `${MANIFEST_DIGEST_FILE} is ${digestInfo.sizeBytes} bytes, not a sha256 line`);
    [bytes, digestBytes] = await Promise.all([store.read(manifestUri), digestInfo ? store.read(digestUri) : undefined]);
  } catch (e) {
    if (e instanceof ModelLoadError) throw e;
    throw new ModelLoadError(uri, `cannot read ${MANIFEST_FILE}: ${(e as Error).message}`, { cause: e });
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (digestBytes) {
    const line = Buffer.from(digestBytes).toString('utf8');
    // `sha256sum` writes "<hex>  name" ("<hex> *name" in binary mode); a bare hex digest is accepted too.
    const m = /^([0-9a-fA-F]{64})(?:[ \t]+\*?(\S+))?\s*$/.exec(line);
    if (!m) throw new ModelLoadError(uri, `${MANIFEST_DIGEST_FILE} is not a sha256 line ("<64 hex digits>  ${MANIFEST_FILE}")`);
    if (m[2] !== undefined && m[2] !== MANIFEST_FILE)
      throw new ModelLoadError(uri, `${MANIFEST_DIGEST_FILE} names ${JSON.stringify(m[2])}, not ${MANIFEST_FILE}`);
    if (sha256 !== m[1]!.toLowerCase())
      throw new ModelLoadError(
        uri,
        `${MANIFEST_FILE} does not match its sha256 in ${MANIFEST_DIGEST_FILE}: edited or corrupted after it was saved, or a save or copy did not finish`,
      );
  }
  let manifest: ModelManifest;
  try {
    manifest = parseJsonDocument(bytes, manifestUri, manifestDocumentSchema, { maxBytes: MAX_MANIFEST_BYTES });
  } catch (e) {
    if (e instanceof JsonDocumentError) throw new ModelLoadError(uri, e.message, { cause: e });
    throw e;
  }
  if (manifest.formatVersion === 1) checkFormat1Files(uri, manifest);
  if (!digestBytes) {
    if (manifest.formatVersion >= DIGEST_REQUIRED_FROM)
      throw new ModelLoadError(
        uri,
        `no ${MANIFEST_DIGEST_FILE}: a format-${manifest.formatVersion} model writes it last, so the save or copy did not finish (or the file was not copied with the model)`,
      );
    if (!warnedUnchecked.has(uri)) {
      warnedUnchecked.add(uri);
      process.emitWarning(
        `model ${uri} is format ${manifest.formatVersion} and has no ${MANIFEST_DIGEST_FILE}: its ${MANIFEST_FILE} is loaded unchecked (its weight files are checked); re-save the model, or add the digest with \`sha256sum ${MANIFEST_FILE} > ${MANIFEST_DIGEST_FILE}\` once the manifest is known good`,
        { code: UNCHECKED_MANIFEST_WARNING },
      );
    }
  }
  return { manifest, bytes, digestChecked: digestBytes !== undefined, sha256 };
}

/**
 * The files a format-1 build could list. The first builds wrote the three training files; from
 * the serving split on (still format 1) they added serving.safetensors and, for a model with a
 * tower, tower.onnx beside it: both or neither, in every format-1 folder. Format 2 stopped
 * writing tower.onnx, and tower-int8.safetensors came after format 2.
 */
const FORMAT_1_FILES: ReadonlySet<string> = new Set([
  'wide.safetensors',
  'embeddings.safetensors',
  'tower.safetensors',
  'serving.safetensors',
  'tower.onnx',
]);

/**
 * Refuses a format-1 manifest that lists what no format-1 build wrote. A format-1 folder may load
 * without a digest, so "formatVersion": 1 must not be a way to skip it: a newer model relabelled
 * format 1 (its manifest then edited at will, and manifest.sha256 deleted) lists a serving file
 * without tower.onnx, or an int8 tower, and is refused here as inconsistent. A relabelled model
 * that no file gives away (a wide-only model, which never had a tower.onnx) still loads, with the
 * warning: it is then exactly as unchecked as a genuine format-1 folder.
 * @throws ModelLoadError naming the files
 */
function checkFormat1Files(uri: string, manifest: ModelManifest): void {
  const names = Object.keys(manifest.files);
  const later = names.filter((name) => !FORMAT_1_FILES.has(name));
  if (later.length > 0)
    throw new ModelLoadError(
      uri,
      `${MANIFEST_FILE} says format 1 but lists ${later.join(', ')}, which only later formats write: a newer model relabelled format 1 is refused`,
    );
  const serving = names.includes('serving.safetensors');
  const onnx = names.includes('tower.onnx');
  if (manifest.tower ? serving !== onnx : onnx)
    throw new ModelLoadError(
      uri,
      `${MANIFEST_FILE} says format 1 but lists ${
        onnx
          ? manifest.tower
            ? 'tower.onnx without serving.safetensors'
            : 'tower.onnx for a model without a tower'
          : 'serving.safetensors without tower.onnx'
      }, which no format-1 build wrote (format 1 wrote both for a model with a tower, or neither; format 2 dropped tower.onnx): a newer model relabelled format 1 is refused`,
    );
}

/**
 * Reads and validates only the manifest, no weights (registries, listings, the scorer's cache
 * key), checked against manifest.sha256 first (readManifestDocument).
 */
export async function readManifest(uri: string): Promise<ModelManifest> {
  return (await readManifestDocument(uri)).manifest;
}
