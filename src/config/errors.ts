import { WdpError } from '../util/errors.ts';

/** The config file is missing, not JSON, or fails the schema. `field` is a dotted path. */
export class ConfigError extends WdpError {
  readonly field: string;
  readonly source: string;
  constructor(source: string, field: string, message: string, options?: ErrorOptions) {
    super(`${source}: ${field ? `${field}: ` : ''}${message}`, options);
    this.field = field;
    this.source = source;
  }
}
