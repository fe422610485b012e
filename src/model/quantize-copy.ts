/**
 * `wdp quantize`: a copy of a model with an int8 serving tower. Above stored-model.ts, so the
 * source is read with every check scoring applies before anything is written.
 */
import { copyModelFiles, encodeInt8Tower, INT8_TOWER_FILE } from './artifact.ts';
import { ModelLoadError, ModelTargetError } from './errors.ts';
import type { ModelManifest } from './manifest.ts';
import { canonicalLocation, checkModelTarget, lockModelTarget, type SaveModelOptions, saveModelFolder } from './save-target.ts';
import { readStoredModel } from './stored-model.ts';
import { quantizeTower } from './tower/int8.ts';

/**
 * Copies the model at `from` to `to` with an int8 tower (INT8_TOWER_FILE) quantized from its
 * checked float32 tower, and `serving.quantize: "int8"` in the copy's config (`wdp quantize`). A copy, not an edit in place: rewriting a folder's manifest and digest
 * in place could leave, after a crash between the two writes, a model that no longer loads. So
 * `to` may never be `from`, and a model already at `to` is handled as `options.existing` says.
 * @returns the new manifest
 * @throws ModelTargetError when `to` is `from`, or holds something `options.existing` does not allow
 */
export async function writeQuantizedCopy(from: string, to: string, options: SaveModelOptions = {}): Promise<ModelManifest> {
  if ((await canonicalLocation(from)) === (await canonicalLocation(to)))
    throw new ModelTargetError(to, 'it is the model being quantized, which is never modified: give --out a new folder');
  const existing = options.existing ?? 'refuse';
  // Held from the check to the save, so a second quantize to `to` fails before it reads a byte.
  const lock = options.lock ?? (existing === 'in-place' ? undefined : await lockModelTarget(to));
  try {
    await checkModelTarget(to, { existing });
    // Checked as scoring checks it (tables against the fitted features, the tower against the
    // config), so a copy is never written of a model that would not load.
    const { manifest, state } = await readStoredModel(from, { weightsOnly: true });
    if (!state.tower) throw new ModelLoadError(from, `a ${manifest.kind} model has no tower to quantize`);
    return await saveModelFolder(
      to,
      existing,
      (dir) =>
        copyModelFiles(from, dir, {
          add: { [INT8_TOWER_FILE]: encodeInt8Tower(quantizeTower(state.tower!)) },
          // The copy is meant to serve int8: its config says so, as a model trained with it would.
          config: { ...manifest.config, serving: { quantize: 'int8' } },
        }),
      lock ? { lock } : {},
    );
  } finally {
    if (!options.lock) await lock?.release();
  }
}
