import { WdpError } from '../util/errors.ts';

/** Training could not produce a sound model (no rows, too many bad rows, divergence). */
export class TrainingError extends WdpError {}
