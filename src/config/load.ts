/** Config from a file or an object, validated with trainingConfigSchema through the one JSON-document reader. */
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { JsonDocumentError, parseJsonDocument, readJsonDocument, validateJsonDocument } from '../storage/json-document.ts';
import { ConfigError } from './errors.ts';
import { trainingConfigSchema, type WdpConfig } from './schema.ts';

/** Config files larger than this are refused before parsing. */
export const MAX_CONFIG_BYTES = 1 << 20;

/** A JsonDocumentError as a ConfigError for `source` (same field and detail); other errors unchanged. */
function asConfigError(source: string, e: unknown): unknown {
  return e instanceof JsonDocumentError ? new ConfigError(source, e.field, e.detail, { cause: e.cause ?? e }) : e;
}

/**
 * Validates an already-parsed config object.
 * @param source names the config in errors (a path or URI)
 * @throws ConfigError naming the first bad field
 */
export function parseConfig(value: unknown, source = 'config'): WdpConfig {
  try {
    return validateJsonDocument(value, source, trainingConfigSchema);
  } catch (e) {
    throw asConfigError(source, e);
  }
}

/** Parses config JSON text (e.g. a file's bytes). */
export function parseConfigText(text: string, source = 'config'): WdpConfig {
  try {
    return parseJsonDocument(text, source, trainingConfigSchema, { maxBytes: MAX_CONFIG_BYTES });
  } catch (e) {
    throw asConfigError(source, e);
  }
}

/**
 * Reads and validates the config file at `uri` (a path, file:// or s3:// URI).
 * @throws ConfigError when it is missing, too large, not JSON or invalid
 */
export async function readConfigDocument(uri: string): Promise<WdpConfig> {
  const config = await readJsonDocument(uri, trainingConfigSchema, { maxBytes: MAX_CONFIG_BYTES }).catch((e: unknown) => {
    throw asConfigError(uri, e);
  });
  if (!config) throw new ConfigError(uri, '', (await isLocalFolder(uri)) ? 'is a directory, not a config file' : 'not found');
  return config;
}

/** True when `uri` is a local folder (the store reads files only, so a folder reads as missing). */
async function isLocalFolder(uri: string): Promise<boolean> {
  if (uri.startsWith('s3://')) return false;
  const s = await stat(uri.startsWith('file://') ? fileURLToPath(uri) : uri).catch(() => undefined);
  return s?.isDirectory() ?? false;
}
