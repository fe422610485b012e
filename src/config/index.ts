export * from './schema.ts';
export { ConfigError } from './errors.ts';
export { parseConfig, parseConfigText, readConfigDocument, MAX_CONFIG_BYTES } from './load.ts';
export {
  DEFAULT_MODEL_MEMORY_LIMIT_MIB,
  estimateModelMemory,
  formatBytes,
  MAX_TYPED_ARRAY_LENGTH,
  MAX_WIDE_ROWS,
  type ModelMemoryEstimate,
  type TableEstimate,
} from './memory.ts';
