/**
 * The tower backends a caller can ask for, in a module with no imports, so that the CLI can list
 * them in its help without loading tfjs or ONNX Runtime.
 */
export const TOWER_KINDS = ['auto', 'tfjs', 'onnx'] as const;
export type TowerKind = (typeof TOWER_KINDS)[number];
