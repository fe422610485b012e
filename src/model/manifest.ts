/**
 * The model folder's manifest.json: what the model is (kind, config, fitted transforms, tower
 * shape), where it came from (parent, training data, metrics), and the size and sha256 of every
 * other file. Typed by the same schemas that validate a config and a transform state, so its
 * readers need no casts. Written last by saveModelArtifact (artifact.ts); read alone by
 * registries and listings, which need no weights.
 */
import { z } from 'zod';
import { configSchema, MODEL_KINDS, type WdpConfig } from '../config/schema.ts';
import type { FeatureTransforms } from '../features/transforms.ts';
import { transformStateSchema } from '../features/state.ts';
import { joinUri } from '../storage/index.ts';
import { JsonDocumentError, readJsonDocument } from '../storage/json-document.ts';
import { ModelLoadError } from './errors.ts';

/** Format versions this build can read, newest last. */
export const KNOWN_MODEL_FORMATS = {
  1: 'manifest.json + wide/embeddings/tower safetensors, float32',
} as const;
export const MODEL_FORMAT_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';
/** Manifests above this size are refused before parsing. */
const MAX_MANIFEST_BYTES = 64 << 20;

const fileEntry = z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().min(0) }).strict();

export const manifestSchema = z
  .object({
    formatVersion: z.number().int(),
    modelId: z.string().min(1).max(200),
    createdAt: z.string(),
    kind: z.enum(MODEL_KINDS),
    /** The validated config the model was trained with (defaults filled in, so parsing it again changes nothing). */
    config: configSchema,
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

/** Reads and validates only the manifest, no weights (registries, listings, the scorer's cache key). */
export async function readManifest(uri: string): Promise<ModelManifest> {
  let manifest: ModelManifest | undefined;
  try {
    manifest = await readJsonDocument(joinUri(uri, MANIFEST_FILE), manifestDocumentSchema, { maxBytes: MAX_MANIFEST_BYTES });
  } catch (e) {
    if (e instanceof JsonDocumentError) throw new ModelLoadError(uri, e.message, { cause: e });
    throw new ModelLoadError(uri, `cannot read ${MANIFEST_FILE}: ${(e as Error).message}`, { cause: e });
  }
  if (!manifest) throw new ModelLoadError(uri, `no ${MANIFEST_FILE} (not a model folder, or the save did not finish)`);
  return manifest;
}
