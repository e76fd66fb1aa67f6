// The embedded stack: dynalite for DynamoDB and fauxqs for SQS, both keeping their state in the
// state folder, and a small runner that invokes the same Lambda handlers with real event shapes.

import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyResultV2,
  SQSBatchResponse,
  SQSEvent,
  SQSRecord,
} from 'aws-lambda';
import dynalite from 'dynalite';
import { startFauxqs } from 'fauxqs';
import { ConnectorError } from '../connectors/errors.ts';
import { SYSTEMS, type SystemName } from '../connectors/systems.ts';
import { noticeQueueEnv, writeQueueEnv } from '../runtime/config.ts';
import { logger } from '../runtime/lambda.ts';
import type { PollReport } from '../runtime/poll.ts';
import { DynamoStore, ensureTable } from '../runtime/store.ts';

export const TABLE_NAME = 'fieldsync';
const REGION = 'us-east-1';
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
/** As on AWS: after this many receives a message moves to its DLQ. */
export const MAX_RECEIVE_COUNT = 5;
/** Batch sizes as the CDK event sources configure them (see lib/). */
const BATCH_SIZE = { ingest: 100, notices: 100, salesforce: 200, hubspot: 100 } as const;

type SqsHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;
type PollHandler = (event?: unknown) => Promise<PollReport | SQSBatchResponse>;

function isPollReport(r: PollReport | SQSBatchResponse): r is PollReport {
  return 'polled' in r;
}

export interface QueueRef {
  name: string;
  url: string;
  arn: string;
  dlqUrl: string;
}

export interface EmbeddedStack {
  store: DynamoStore;
  sqs: SQSClient;
  queues: { ingest: QueueRef } & Record<SystemName, QueueRef>;
  pollers: Record<SystemName, PollHandler>;
  noticeQueues: Record<SystemName, QueueRef>;
  /** Where the webhook function listens locally, e.g. http://127.0.0.1:4321 (POST /webhooks/<system>). */
  webhookUrl: string;
  /** Poll every system once (referenced objects first). */
  pollAll(): Promise<PollReport[]>;
  /** Invoke consumers until every queue is empty (delayed messages included) or the deadline passes. */
  drain(options?: { timeoutMs?: number }): Promise<void>;
  /** One pass over the queues; returns how many messages were handled. */
  pumpOnce(): Promise<number>;
  pending(): Promise<number>;
  /** DynamoDB requests served so far, by operation. */
  dynamoRequests(): Record<string, number>;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  stateDir: string;
  /** Port of the local webhook endpoint (http://127.0.0.1:<port>/webhooks/<system>); 0 picks one. */
  webhookPort?: number;
  /** SaaS credentials as env names (SALESFORCE_INSTANCE_URL, ...). */
  credentials: Readonly<Record<string, string>>;
  /** How long a received message stays invisible: a batch held by a runner that died comes back after
   * this. Default 30 (SQS's default). */
  visibilityTimeoutSeconds?: number;
}

let started = false;

export async function startEmbedded(options: EmbeddedOptions): Promise<EmbeddedStack> {
  // Handlers read their env once at import (cold start), as on Lambda: one embedded stack per process.
  if (started) throw new Error('the embedded stack is already running in this process');
  started = true;
  mkdirSync(join(options.stateDir, 'dynamodb'), { recursive: true });
  mkdirSync(join(options.stateDir, 'sqs'), { recursive: true });

  const dynamo = dynalite({
    path: join(options.stateDir, 'dynamodb'),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  // Every DynamoDB request by operation (X-Amz-Target), from all handlers: the benchmark's cost measure.
  const dynamoRequests: Record<string, number> = {};
  dynamo.on('request', (req: IncomingMessage) => {
    const op =
      String(req.headers['x-amz-target'] ?? 'unknown')
        .split('.')
        .pop() ?? 'unknown';
    dynamoRequests[op] = (dynamoRequests[op] ?? 0) + 1;
  });
  await new Promise<void>((resolve, reject) => {
    dynamo.once('error', reject);
    dynamo.listen(0, '127.0.0.1', () => resolve());
  });
  const address = dynamo.address();
  const dynamoUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  const fauxqs = await startFauxqs({ port: 0, logger: false, dataDir: join(options.stateDir, 'sqs') });

  const dynamoClient = new DynamoDBClient({
    endpoint: dynamoUrl,
    region: REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  await ensureTable(dynamoClient, TABLE_NAME);
  const sqs = new SQSClient({ endpoint: fauxqs.address, region: REGION, credentials: LOCAL_CREDENTIALS });

  const makeQueue = async (name: string): Promise<QueueRef> => {
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
    const arn = (n: string) => `arn:aws:sqs:${REGION}:000000000000:${n}`;
    const q = await sqs.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: {
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: arn(`${name}-dlq`),
            maxReceiveCount: MAX_RECEIVE_COUNT,
          }),
        },
      }),
    );
    if (q.QueueUrl === undefined || dlq.QueueUrl === undefined)
      throw new Error(`could not create queue ${name}`);
    // Set apart from CreateQueue, which refuses a different value for a queue the state dir already has.
    await sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: loopbackUrl(q.QueueUrl, fauxqs.address),
        Attributes: { VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 30) },
      }),
    );
    return {
      name,
      url: loopbackUrl(q.QueueUrl, fauxqs.address),
      arn: arn(name),
      dlqUrl: loopbackUrl(dlq.QueueUrl, fauxqs.address),
    };
  };
  const ingest = await makeQueue('fieldsync-ingest');
  const writeQueues = {} as Record<SystemName, QueueRef>;
  for (const s of SYSTEMS) writeQueues[s] = await makeQueue(`fieldsync-write-${s}`);
  // Webhook notices per system, read by that system's poller (it has the client).
  const noticeQueues = {} as Record<SystemName, QueueRef>;
  for (const s of SYSTEMS) noticeQueues[s] = await makeQueue(`fieldsync-notices-${s}`);

  // The same variables the CDK stack sets on the functions; the AWS SDK reads the endpoint variables itself.
  Object.assign(process.env, {
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: dynamoUrl,
    AWS_ENDPOINT_URL_SQS: fauxqs.address,
    TABLE_NAME,
    INGEST_QUEUE_URL: ingest.url,
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT',
    // fauxqs counts messages exactly: creates may start as soon as a system's first read is merged.
    FIELDSYNC_INITIAL_READ_SETTLE_MS: process.env.FIELDSYNC_INITIAL_READ_SETTLE_MS ?? '0',
    ...Object.fromEntries(SYSTEMS.map((s) => [writeQueueEnv(s), writeQueues[s].url])),
    ...Object.fromEntries(SYSTEMS.map((s) => [noticeQueueEnv(s), noticeQueues[s].url])),
    ...options.credentials,
  });
  delete process.env.CREDENTIALS_SECRET_ARN;
  // The functions' logger was made when runtime/lambda.ts was first imported, before this env existed.
  logger.setLogLevel(
    (process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT') as Parameters<typeof logger.setLogLevel>[0],
  );

  // The webhook function behind a local HTTP endpoint, with API Gateway (HTTP API, payload 2.0) events.
  let webhookHandler: ((event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>) | undefined;
  const webhookServer = createServer((req, res) => {
    void serveWebhook(req, res, webhookHandler);
  });
  await new Promise<void>((resolve, reject) => {
    webhookServer.once('error', reject);
    webhookServer.listen(options.webhookPort ?? 0, '127.0.0.1', () => resolve());
  });
  const webhookAddress = webhookServer.address();
  const webhookUrl = `http://127.0.0.1:${typeof webhookAddress === 'object' && webhookAddress !== null ? webhookAddress.port : 0}`;
  process.env.WEBHOOK_BASE_URL = process.env.WEBHOOK_BASE_URL ?? webhookUrl;
  webhookHandler = (await import('../functions/webhook.ts')).handler;

  // The very files Lambda runs.
  const ingestHandler: SqsHandler = (await import('../functions/ingest.ts')).handler;
  const pollers: Record<SystemName, PollHandler> = {
    salesforce: (await import('../functions/poll-salesforce.ts')).handler,
    hubspot: (await import('../functions/poll-hubspot.ts')).handler,
  };
  const writers: Record<SystemName, SqsHandler> = {
    salesforce: (await import('../functions/write-salesforce.ts')).handler,
    hubspot: (await import('../functions/write-hubspot.ts')).handler,
  };

  const consumers: { queue: QueueRef; handler: SqsHandler; batchSize: number }[] = [
    { queue: ingest, handler: ingestHandler, batchSize: BATCH_SIZE.ingest },
    ...SYSTEMS.map((s) => ({
      queue: noticeQueues[s],
      handler: async (event: SQSEvent) => {
        const res = await pollers[s](event);
        return isPollReport(res) ? { batchItemFailures: [] } : res;
      },
      batchSize: BATCH_SIZE.notices,
    })),
    ...SYSTEMS.map((s) => ({ queue: writeQueues[s], handler: writers[s], batchSize: BATCH_SIZE[s] })),
  ];

  const pumpOnce = async (): Promise<number> => {
    let handled = 0;
    for (const c of consumers) handled += await pump(sqs, c.queue, c.handler, c.batchSize);
    return handled;
  };

  const pending = async (): Promise<number> => {
    let n = 0;
    for (const c of consumers) {
      const res = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: c.queue.url,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        }),
      );
      const a = res.Attributes ?? {};
      n +=
        Number(a.ApproximateNumberOfMessages ?? 0) +
        Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) +
        Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
    }
    return n;
  };

  return {
    store: new DynamoStore(TABLE_NAME, dynamoClient),
    sqs,
    queues: { ingest, ...writeQueues },
    noticeQueues,
    webhookUrl,
    pollers,
    async pollAll() {
      const reports: PollReport[] = [];
      for (const s of SYSTEMS) {
        try {
          const res = await pollers[s]({
            source: 'aws.scheduler',
            'detail-type': 'Scheduled Event',
            detail: {},
          });
          if (isPollReport(res)) reports.push(res);
        } catch (err) {
          // As on AWS, where the next scheduled poll goes on from the saved cursor: a system that keeps
          // failing (5xx, 429, connection) after the connector's retries is said, and the cycle goes on.
          // Anything else (bad credentials, a bug) stops the run.
          if (!(err instanceof ConnectorError && err.retryable)) throw err;
          process.stderr.write(`poll ${s} failed, the next poll continues from its cursor: ${err.message}\n`);
        }
      }
      return reports;
    },
    pumpOnce,
    pending,
    dynamoRequests: () => ({ ...dynamoRequests }),
    async drain({ timeoutMs = 300_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if ((await pumpOnce()) > 0) continue;
        if ((await pending()) === 0) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`queues did not drain within ${Math.round(timeoutMs / 1000)} s`);
    },
    async stop() {
      webhookServer.closeAllConnections();
      await new Promise<void>((resolve) => webhookServer.close(() => resolve()));
      await fauxqs.stop();
      await new Promise<void>((resolve) => dynamo.close(() => resolve()));
      dynamoClient.destroy();
      sqs.destroy();
    },
  };
}

/** fauxqs names queues `http://sqs.<region>.localhost:<port>/...`, with the port of the run that created
 * them; address them on loopback at this run's port. */
function loopbackUrl(queueUrl: string, endpoint: string): string {
  const u = new URL(queueUrl);
  u.host = new URL(endpoint).host;
  return u.toString();
}

/** Receive up to `batchSize` messages, invoke the handler with an SQS event, delete what succeeded. */
async function pump(
  sqs: SQSClient,
  queue: QueueRef,
  handler: SqsHandler,
  batchSize: number,
): Promise<number> {
  const messages: Message[] = [];
  while (messages.length < batchSize) {
    const res = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queue.url,
        MaxNumberOfMessages: Math.min(10, batchSize - messages.length),
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const got = res.Messages ?? [];
    messages.push(...got);
    if (got.length === 0) break;
  }
  if (messages.length === 0) return 0;
  const event: SQSEvent = { Records: messages.map((m) => toRecord(m, queue)) };
  let failed: Set<string>;
  try {
    const res = await handler(event);
    failed = new Set(res.batchItemFailures.map((f) => f.itemIdentifier));
  } catch {
    // A thrown handler fails the whole batch, as on Lambda.
    failed = new Set(messages.map((m) => m.MessageId ?? ''));
  }
  const done = messages.filter((m) => !failed.has(m.MessageId ?? ''));
  const retry = messages.filter((m) => failed.has(m.MessageId ?? ''));
  for (let i = 0; i < done.length; i += 10) {
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: done
          .slice(i, i + 10)
          .map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle ?? '' })),
      }),
    );
  }
  // Failed messages come back after a short visibility timeout (locally; Lambda uses the queue's).
  for (let i = 0; i < retry.length; i += 10) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queue.url,
        Entries: retry
          .slice(i, i + 10)
          .map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle ?? '', VisibilityTimeout: 1 })),
      }),
    );
  }
  return messages.length;
}

function toRecord(m: Message, queue: QueueRef): SQSRecord {
  const a = m.Attributes ?? {};
  return {
    messageId: m.MessageId ?? '',
    receiptHandle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? String(Date.now()),
      SenderId: a.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queue.arn,
    awsRegion: REGION,
  };
}

/** One HTTP request to the webhook function, as API Gateway's HTTP API would deliver it. */
async function serveWebhook(
  req: IncomingMessage,
  res: ServerResponse,
  handler: ((event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>) | undefined,
): Promise<void> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    // API Gateway's own payload limit is 10 MB; the function caps far lower itself.
    if (size > 10 * 1024 * 1024) {
      res.writeHead(413).end();
      return;
    }
    chunks.push(buf);
  }
  if (handler === undefined) {
    res.writeHead(503).end();
    return;
  }
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const headers = Object.fromEntries(
    Object.entries(req.headers).flatMap(([k, v]) =>
      v === undefined ? [] : [[k.toLowerCase(), Array.isArray(v) ? v.join(',') : v]],
    ),
  );
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    body: Buffer.concat(chunks).toString('utf8'),
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: url.host,
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'POST',
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: req.socket.remoteAddress ?? '',
        userAgent: String(req.headers['user-agent'] ?? ''),
      },
      requestId: `local-${Date.now()}`,
      routeKey: '$default',
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
  };
  try {
    const result = await handler(event);
    if (typeof result === 'string') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(result);
      return;
    }
    res
      .writeHead(
        result.statusCode ?? 200,
        Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)])),
      )
      .end(result.body ?? '');
  } catch {
    res.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"internal error"}');
  }
}
