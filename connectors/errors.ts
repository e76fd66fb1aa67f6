// Typed connector errors: vendor codes are translated here, inside the connector layer only.
import type { z } from 'zod';

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
    // One line: vendor messages may span several (jsforce's for an HTML page does), logs and the CLI want one.
    super(`${system}: ${code}: ${message.replace(/\s*\n\s*/g, ' ')}`, { cause: opts.cause });
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

/**
 * An answer that is not what the API documents: cut off, an HTML page from a proxy, the wrong shape.
 * Retryable: a gateway's page or a truncated body is usually gone on the next try, and one that stays
 * ends parked (writes) or in the DLQ (reads) after the retries.
 */
export class BadResponseError extends ConnectorError {
  override name = 'BadResponseError';
  constructor(system: string, message: string, cause?: unknown) {
    super(system, 'BAD_RESPONSE', message, { retryable: true, cause });
  }
}

/** A vendor answer checked against its schema; a mismatch names where, never the values (they may be PII). */
export function parseResponse<S extends z.ZodType>(
  system: string,
  what: string,
  schema: S,
  value: unknown,
): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? '' : ` at ${issue.path.join('.')}`;
  throw new BadResponseError(
    system,
    `${what}: unexpected answer${where}: ${issue?.message ?? 'invalid'}`,
    parsed.error,
  );
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
