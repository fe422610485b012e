/**
 * The base of every error wdp raises on purpose. `name` is set so logs and the CLI show
 * the error class; `cause` keeps the underlying error.
 */
export class WdpError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}
