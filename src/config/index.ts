export * from './schema.ts';
export { ConfigError } from './errors.ts';
export { parseConfig, parseConfigText, readConfigDocument, MAX_CONFIG_BYTES } from './load.ts';
