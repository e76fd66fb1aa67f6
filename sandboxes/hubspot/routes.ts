// What the route handlers share: the call they receive, the reply they return, and parsing helpers
// that turn malformed input into HubSpot's 400 VALIDATION_ERROR.
import type { z } from 'zod';
import { validationError } from './errors.ts';
import { type HsObjectType, objectTypeFrom } from './schema.ts';
import type { HubSpotStore } from './store.ts';

export interface Call {
  params: ReadonlyMap<string, string>;
  query: URLSearchParams;
  body: unknown;
  store: HubSpotStore;
  now: () => number;
  /** Base URL the client used, for `paging.next.link`. */
  baseUrl: string;
}

export interface Reply {
  status: number;
  body?: unknown;
}

export type Handler = (call: Call) => Reply;

export interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** Path with `:name` segments; `:type`, `:from`, `:to` and `:toType` name object types. */
  pattern: string;
  /** Search routes have their own per-second limit and send no rate-limit headers. */
  search?: boolean;
  handler: Handler;
}

export const TYPE_PARAMS: ReadonlySet<string> = new Set(['type', 'from', 'to', 'toType']);

export function param(call: Call, name: string): string {
  const value = call.params.get(name);
  if (value === undefined) throw new Error(`route has no :${name} segment`);
  return value;
}

/** An object type path segment; HubSpot answers an unknown one with a 400. */
export function typeParam(call: Call, name = 'type'): HsObjectType {
  const raw = param(call, name);
  const type = objectTypeFrom(raw);
  if (type === undefined) throw validationError(`Unable to infer object type from: ${raw}`);
  return type;
}

export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw validationError(`Invalid input JSON: ${issues.join('; ')}`);
}

/** Array query parameters arrive repeated (`a=1&a=2`, as the SDK sends) or comma-separated. */
export function queryList(query: URLSearchParams, name: string): string[] | undefined {
  const all = query.getAll(name);
  if (all.length === 0) return undefined;
  return all
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

export function queryBool(query: URLSearchParams, name: string): boolean {
  return query.get(name) === 'true';
}

export function queryInt(
  query: URLSearchParams,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  return checkedInt(raw, name, min, max);
}

export function checkedInt(raw: string | number, name: string, min: number, max: number): number {
  const n = typeof raw === 'number' ? raw : /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw validationError(`${name} must be an integer between ${min} and ${max}; got ${String(raw)}`);
  }
  return n;
}

/** HubSpot batch endpoints take at most 100 inputs (reference B7). */
export const BATCH_MAX_INPUTS = 100;

export function checkBatchSize(inputs: readonly unknown[], max = BATCH_MAX_INPUTS): void {
  if (inputs.length > max) {
    throw validationError(
      `Too many inputs: ${inputs.length}. A batch request accepts at most ${max} inputs.`,
    );
  }
}

/** `{status: 'COMPLETE', results, startedAt, completedAt}` plus `numErrors`/`errors` when some failed. */
export function batchReply(
  okStatus: number,
  startedAt: number,
  now: number,
  results: unknown[],
  errors: unknown[],
): Reply {
  const body = {
    status: 'COMPLETE',
    results,
    ...(errors.length > 0 ? { numErrors: errors.length, errors } : {}),
    startedAt: new Date(startedAt).toISOString(),
    completedAt: new Date(now).toISOString(),
  };
  return { status: errors.length > 0 ? 207 : okStatus, body };
}

/** One entry of a batch response's `errors` (StandardError). */
export function batchError(
  category: string,
  message: string,
  context: Record<string, string[]>,
  subCategory?: string,
): Record<string, unknown> {
  return {
    status: 'error',
    category,
    ...(subCategory === undefined ? {} : { subCategory }),
    message,
    context,
    errors: [],
    links: {},
  };
}
