// Small HTTP toolkit shared by the sandboxes: body reading, JSON replies, a rolling-window
// rate limiter and call statistics. Node's own http server; no framework.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const MAX_BODY_BYTES = 10 * 1024 * 1024;

export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
}

export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > limit) throw new BodyTooLargeError(`body larger than ${limit} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  contentType = 'application/json;charset=UTF-8',
): void {
  if (status === 204 || body === undefined) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/**
 * Rolling-window limiter: at most `max` calls in any `intervalMs`. Used for HubSpot's
 * per-10-second limit; also a daily-style counter when `intervalMs` is large.
 */
export class WindowLimiter {
  private readonly stamps: number[] = [];
  readonly max: number;
  readonly intervalMs: number;
  private readonly now: () => number;
  constructor(max: number, intervalMs: number, now: () => number = Date.now) {
    this.max = max;
    this.intervalMs = intervalMs;
    this.now = now;
  }

  /** Records a call if allowed; returns the calls remaining after it, or -1 when over the limit. */
  take(): number {
    const t = this.now();
    while (this.stamps.length > 0 && (this.stamps[0] ?? 0) <= t - this.intervalMs) this.stamps.shift();
    if (this.stamps.length >= this.max) return -1;
    this.stamps.push(t);
    return this.max - this.stamps.length;
  }

  /** Milliseconds until the next call would be allowed (0 if now). */
  retryAfterMs(): number {
    const oldest = this.stamps[0];
    if (this.stamps.length < this.max || oldest === undefined) return 0;
    return Math.max(0, oldest + this.intervalMs - this.now());
  }
}

/** Per-route call counters, so tests and benchmarks can count API calls as the vendor would. */
export class CallStats {
  readonly byRoute = new Map<string, number>();
  total = 0;
  count(route: string): void {
    this.total++;
    this.byRoute.set(route, (this.byRoute.get(route) ?? 0) + 1);
  }
  get(route: string): number {
    return this.byRoute.get(route) ?? 0;
  }
  reset(): void {
    this.byRoute.clear();
    this.total = 0;
  }
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.byRoute.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
}

export interface Listening {
  /** The server currently listening (a new one after each reopen). */
  readonly server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
  /** Listen again on the same port with the same handler (after close; a restarted host). */
  reopen(): Promise<void>;
}

export async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  port = 0,
  host = '127.0.0.1',
): Promise<Listening> {
  const open = async (at: number): Promise<Server> => {
    const server = createServer(handler);
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(at, host, () => resolve());
    });
    return server;
  };
  let server = await open(port);
  const bound = (server.address() as AddressInfo).port;
  return {
    get server() {
      return server;
    },
    port: bound,
    url: `http://${host}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    reopen: async () => {
      if (server.listening) return;
      server = await open(bound);
    },
  };
}
