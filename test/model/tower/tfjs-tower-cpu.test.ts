import { TfjsTower } from '../../../src/model/tower/tfjs-tower.ts';
import { runTowerContract } from './contract.ts';

// The plain-JS fallback backend: what tfjs runs on when neither tfjs-node nor WASM loads.
runTowerContract('TfjsTower (cpu)', (o) => TfjsTower.create({ ...o, backends: ['cpu'] }));
