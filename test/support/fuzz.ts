// Shared by the fuzz tests (test/fuzz-*.test.ts): fixed seeds, an in-memory DynamoDB store, a queue
// that records what it was sent, and a proxy that corrupts SaaS responses on their way to the real
// clients (jsforce, @hubspot/api-client).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import type { Queue } from '../../runtime/queue.ts';
import { DynamoStore, ensureTable } from '../../runtime/store.ts';

/**
 * Every property starts from this seed, so CI runs the same cases every time; fast-check prints the
 * seed and the path of a failing case, and `FIELDSYNC_FUZZ_SEED=<seed>` replays it (or explores
 * another). `FIELDSYNC_FUZZ_SCALE=10` runs ten times as many cases.
 */
export const FUZZ_SEED = envNumber('FIELDSYNC_FUZZ_SEED', 20_260_601);
const SCALE = envNumber('FIELDSYNC_FUZZ_SCALE', 1);

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got '${raw}'`);
  return n;
}

/**
 * fast-check parameters: the fixed seed and `numRuns` scaled by FIELDSYNC_FUZZ_SCALE. `shrink: false`
 * (endOnFailure) reports the first failing case as it is, for properties whose runs take seconds (a
 * whole sync cycle) and would spend the test's time limit shrinking; its seed and path replay it.
 */
export function fuzzRuns(
  numRuns: number,
  options: { shrink?: boolean } = {},
): { seed: number; numRuns: number; endOnFailure?: boolean } {
  return {
    seed: FUZZ_SEED,
    numRuns: Math.max(1, Math.round(numRuns * SCALE)),
    ...(options.shrink === false ? { endOnFailure: true } : {}),
  };
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (typeof address === 'object' && address !== null) resolve(`http://127.0.0.1:${address.port}`);
      else reject(new Error(`unexpected server address ${String(address)}`));
    });
  });
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections?.();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A DynamoStore on an in-memory dynalite (no state dir), with its own table. */
export async function startMemoryStore(): Promise<{ store: DynamoStore; close(): Promise<void> }> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const endpoint = await listen(server);
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await ensureTable(client, 'fieldsync-fuzz');
  return {
    store: new DynamoStore('fieldsync-fuzz', client),
    close: async () => {
      client.destroy();
      await closeServer(server);
    },
  };
}

/** A queue that keeps every body it is sent, by queue URL. */
export class RecordingQueue implements Queue {
  readonly sent: { url: string; body: string; delaySeconds: number }[] = [];
  async send(url: string, bodies: readonly string[], delaySeconds = 0): Promise<void> {
    for (const body of bodies) this.sent.push({ url, body, delaySeconds });
  }
  /** Everything sent so far, and forget it. */
  take(): { url: string; body: string; delaySeconds: number }[] {
    return this.sent.splice(0, this.sent.length);
  }
}

export interface ProxiedResponse {
  method: string;
  /** Path and query as the client asked, e.g. `/services/data/v62.0/query?q=...`. */
  path: string;
  status: number;
  contentType: string;
  body: Buffer;
}

/** What the client gets instead of the upstream's answer; undefined passes the answer through. */
export type Corruption = (res: ProxiedResponse) => Omit<ProxiedResponse, 'method' | 'path'> | undefined;

export interface CorruptingProxy {
  url: string;
  /** Set (or clear) the corruption applied to the next responses. */
  corrupt(fn: Corruption | undefined): void;
  /** Responses corrupted since the last call, by `METHOD path`, and forget them. */
  takeCorrupted(): string[];
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/** Hop-by-hop and encoding headers are not forwarded: fetch already decoded the body. */
const DROPPED_HEADERS = new Set([
  'host',
  'connection',
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'keep-alive',
]);

/**
 * A reverse proxy in front of a sandbox: requests go through unchanged, answers come back as the
 * sandbox gave them unless a corruption is set, which may replace status, content type and body.
 */
export async function startCorruptingProxy(upstream: string): Promise<CorruptingProxy> {
  let corruption: Corruption | undefined;
  const corrupted: string[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) {
        if (v === undefined || DROPPED_HEADERS.has(k)) continue;
        headers.set(k, Array.isArray(v) ? v.join(', ') : v);
      }
      const method = req.method ?? 'GET';
      const path = req.url ?? '/';
      const answer = await fetch(`${upstream}${path}`, {
        method,
        headers,
        ...(body.length > 0 ? { body } : {}),
      });
      const original: ProxiedResponse = {
        method,
        path,
        status: answer.status,
        contentType: answer.headers.get('content-type') ?? '',
        body: Buffer.from(await answer.arrayBuffer()),
      };
      const replaced = corruption?.(original);
      if (replaced !== undefined) corrupted.push(`${method} ${path}`);
      const out = replaced ?? original;
      const outHeaders: Record<string, string> = {};
      answer.headers.forEach((v, k) => {
        if (!DROPPED_HEADERS.has(k) && k !== 'content-type') outHeaders[k] = v;
      });
      if (out.contentType !== '') outHeaders['content-type'] = out.contentType;
      outHeaders['content-length'] = String(out.body.length);
      res.writeHead(out.status, outHeaders).end(out.body);
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${err instanceof Error ? err.message : String(err)}`);
    });
  });
  const url = await listen(server);
  return {
    url,
    corrupt: (fn) => {
      corruption = fn;
    },
    takeCorrupted: () => corrupted.splice(0, corrupted.length),
    close: () => closeServer(server),
  };
}
