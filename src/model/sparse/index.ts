export { Ftrl } from './ftrl.ts';
export { SparseAdagrad } from './adagrad.ts';
export { createTable, GradientAccumulator, type SparseOptimizer, type SparseTable } from './sparse-table.ts';
