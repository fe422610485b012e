/**
 * The tower area's public surface. Training code wants `createTower`; scoring code that must
 * not load tfjs can import `./onnx-tower.ts` directly. The reference and benchmark are
 * imported by path (tests, `wdp bench`), not from here.
 */
export type {
  TowerAdagrad,
  TowerBackend,
  TowerOptions,
  TowerShape,
  TowerState,
  TowerStepInput,
  TowerStepResult,
} from './tower.ts';
export { TOWER_KINDS, createTower, towerFromState } from './select.ts';
export type { TowerKind } from './select.ts';
export { checkTowerState, copyTowerState, initialTowerState, parameterCount, paramNames } from './state.ts';
export { TowerBackendUnavailableError, TowerError, TowerShapeError } from './errors.ts';
