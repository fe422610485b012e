import { ConfigError } from './errors.ts';
import { configSchema, type WdpConfig } from './schema.ts';

/** Config files larger than this are refused before parsing. */
export const MAX_CONFIG_BYTES = 1 << 20;

/**
 * Validates an already-parsed config object.
 * @param source names the config in errors (a path or URI)
 * @throws ConfigError naming the first bad field
 */
export function parseConfig(value: unknown, source = 'config'): WdpConfig {
  const r = configSchema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.map(String).join('.');
  const more = r.error.issues.length > 1 ? ` (and ${r.error.issues.length - 1} more problem(s))` : '';
  throw new ConfigError(source, field, `${issue.message}${more}`, { cause: r.error });
}

/** Parses config JSON text (e.g. a file's bytes). */
export function parseConfigText(text: string, source = 'config'): WdpConfig {
  if (text.length > MAX_CONFIG_BYTES) throw new ConfigError(source, '', `is larger than ${MAX_CONFIG_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(source, '', `is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  return parseConfig(json, source);
}
