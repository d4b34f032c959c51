/**
 * The one error type users see. `where` names the file, field, flag or parameter at fault so the
 * message alone tells the user what to fix: `config.json: "num_experts_per_tok" must be <= ...`.
 *
 * @example
 * throw new QwenrtError("config.json", '"hidden_size" must be a positive integer, got -1');
 */
export class QwenrtError extends Error {
  /** File, field, flag or parameter at fault (e.g. `config.json`, `--top-p`, `model.safetensors`). */
  readonly where: string;
  /** Stable machine-readable code for API layers (e.g. `invalid_request`, `not_found`). */
  readonly code: string;
  /** The message without the `where: ` prefix (for a server that must not show a local path). */
  readonly detail: string;

  constructor(where: string, message: string, options?: { code?: string; cause?: unknown }) {
    super(`${where}: ${message}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "QwenrtError";
    this.where = where;
    this.code = options?.code ?? "invalid_input";
    this.detail = message;
  }
}

/** Narrow an unknown thrown value to a printable one-line message. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
