// Typed connector errors: vendor codes are translated here, inside the connector layer only.

export class ConnectorError extends Error {
  override name = 'ConnectorError';
  readonly system: string;
  readonly code: string;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  constructor(
    system: string,
    code: string,
    message: string,
    opts: { retryable: boolean; retryAfterMs?: number; cause?: unknown },
  ) {
    super(`${system}: ${code}: ${message}`, { cause: opts.cause });
    this.system = system;
    this.code = code;
    this.retryable = opts.retryable;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

export class AuthError extends ConnectorError {
  override name = 'AuthError';
}

export class RateLimitError extends ConnectorError {
  override name = 'RateLimitError';
}

/** Network-level failures (refused, reset, timed out) are worth a retry. */
export function isNetworkError(err: unknown): boolean {
  const code = err instanceof Error && 'code' in err ? String(err.code) : '';
  const causeCode =
    err instanceof Error && err.cause instanceof Error && 'code' in err.cause ? String(err.cause.code) : '';
  const codes = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'UND_ERR_SOCKET', 'ENOTFOUND'];
  return (
    codes.includes(code) ||
    codes.includes(causeCode) ||
    (err instanceof TypeError && err.message === 'fetch failed')
  );
}
