/**
 * Serving only the model it was told to serve. Whatever names the served version — the local
 * pointer (`wdp invoke`), the scoring Lambda's WDP_MODEL_VERSION / WDP_MODEL_ID, the registry —
 * names a model id too, and a folder can hold another model than that (a pointer moved by hand, a
 * wrong folder, a registry copy overwritten): one check, here, compares what was loaded with what
 * was named, so every path refuses the same way instead of silently serving another model.
 */
import { ServedModelMismatchError } from './errors.ts';

/** What serving was told it serves. */
export interface ExpectedModel {
  /** The registry version, as serving names it (`v3`). */
  readonly version: string;
  /** The model id that version holds; null when nothing could say (see `unknownBecause`). */
  readonly modelId: string | null;
  /** What named it, for the message (a pointer file, an environment variable, the registry). */
  readonly source: string;
  /** Why the model id is unknown, when it is: a version nobody can vouch for is not served either. */
  readonly unknownBecause?: string;
}

/**
 * @param uri the folder the model was loaded from
 * @param loadedId the loaded model's id (its manifest's modelId)
 * @param hint what to do about it, appended to the message
 * @throws ServedModelMismatchError naming the version, both model ids and the folder
 */
export function checkServedModel(expected: ExpectedModel, uri: string, loadedId: string, hint?: string): void {
  const tail = hint ? ` (${hint})` : '';
  if (expected.modelId === null)
    throw new ServedModelMismatchError(
      `${expected.source} says ${expected.version} is served, but its model id is unknown (${expected.unknownBecause ?? 'nothing names it'}); ${uri} holds model ${loadedId}; not serving a model that cannot be checked${tail}`,
    );
  if (loadedId !== expected.modelId)
    throw new ServedModelMismatchError(
      `${expected.source} says ${expected.version} is model ${expected.modelId}, but ${uri} holds model ${loadedId}; not serving it${tail}`,
    );
}
