// Test helpers for code that talks to the HubSpot sandbox: a controllable clock for `now`, and a
// guard for the SDK's ApiException.

export interface ApiFailure {
  code: number;
  body: unknown;
  headers: Record<string, string>;
}

/** The SDK's ApiException (one class per codegen module, so checked structurally). */
export function isApiFailure(error: unknown): error is ApiFailure {
  return (
    error instanceof Error &&
    'code' in error &&
    typeof error.code === 'number' &&
    'body' in error &&
    'headers' in error &&
    typeof error.headers === 'object'
  );
}

export async function failure(call: Promise<unknown>): Promise<ApiFailure> {
  try {
    await call;
  } catch (error) {
    if (isApiFailure(error)) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

export interface TestClock {
  now: () => number;
  set(ms: number): void;
  advance(ms: number): void;
}

export function testClock(start = Date.parse('2024-06-01T00:00:00.000Z')): TestClock {
  let t = start;
  return {
    now: () => t,
    set: (ms) => {
      t = ms;
    },
    advance: (ms) => {
      t += ms;
    },
  };
}
