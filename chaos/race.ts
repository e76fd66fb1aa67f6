// Two workers racing on the same queues: each batch received is dealt between two independent handler
// instances invoked at the same time (as two Lambda instances would be), some messages to both (a
// standard queue's duplicate delivery). Records edited on both sides arrive in different messages, so
// the two workers merge changes of the same canonical records concurrently.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DEFAULT_CONFIG } from '../config/default.ts';
import { CONNECTORS } from '../connectors/registry.ts';
import { SYSTEMS } from '../connectors/systems.ts';
import type { EmbeddedStack, QueueRef } from '../local/stack.ts';
import { credentialsFrom } from '../runtime/config.ts';
import { createIngestHandler, createWriteHandler } from '../runtime/handlers.ts';
import { count, type World } from './world.ts';

type Handler = (event: SQSEvent) => Promise<SQSBatchResponse>;

interface Consumer {
  queue: QueueRef;
  /** Two independent instances (their own store, queue and SaaS clients). */
  workers: [Handler, Handler];
}

/** Two instances of the ingest and write handlers; the notice queues keep the stack's pollers. */
export function racingConsumers(world: World, stack: EmbeddedStack): Consumer[] {
  const creds = credentialsFrom(world.env);
  const pair = <T>(make: () => T): [T, T] => [make(), make()];
  const notice = (system: (typeof SYSTEMS)[number]): Handler => {
    const poller = stack.pollers[system];
    return async (event) => {
      const res = await poller(event);
      return 'batchItemFailures' in res ? res : { batchItemFailures: [] };
    };
  };
  return [
    { queue: stack.queues.ingest, workers: pair(() => createIngestHandler(DEFAULT_CONFIG)) },
    ...SYSTEMS.map((s) => ({
      queue: stack.noticeQueues[s],
      workers: [notice(s), notice(s)] as [Handler, Handler],
    })),
    ...SYSTEMS.map((s) => ({
      queue: stack.queues[s],
      workers: pair(() => createWriteHandler(CONNECTORS[s](creds, DEFAULT_CONFIG), DEFAULT_CONFIG)),
    })),
  ];
}

async function receiveAll(sqs: SQSClient, queue: QueueRef, max: number): Promise<Message[]> {
  const out: Message[] = [];
  while (out.length < max) {
    const res = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queue.url,
        MaxNumberOfMessages: Math.min(10, max - out.length),
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const got = res.Messages ?? [];
    out.push(...got);
    if (got.length === 0) break;
  }
  return out;
}

function eventOf(messages: readonly Message[], queue: QueueRef): SQSEvent {
  return {
    Records: messages.map((m) => ({
      messageId: m.MessageId ?? '',
      receiptHandle: m.ReceiptHandle ?? '',
      body: m.Body ?? '',
      attributes: {
        ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
        SentTimestamp: m.Attributes?.SentTimestamp ?? String(Date.now()),
        SenderId: 'local',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: m.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: queue.arn,
      awsRegion: 'us-east-1',
    })),
  };
}

async function invoke(handler: Handler, messages: readonly Message[], queue: QueueRef): Promise<Set<string>> {
  if (messages.length === 0) return new Set();
  try {
    const res = await handler(eventOf(messages, queue));
    return new Set(res.batchItemFailures.map((f) => f.itemIdentifier));
  } catch {
    return new Set(messages.map((m) => m.MessageId ?? ''));
  }
}

/** One batch from one queue, dealt to both workers at once; returns the messages handled. */
async function racePump(world: World, sqs: SQSClient, consumer: Consumer): Promise<number> {
  const messages = await receiveAll(sqs, consumer.queue, 100);
  if (messages.length === 0) return 0;
  const a: Message[] = [];
  const b: Message[] = [];
  for (const m of messages) {
    const roll = world.rand();
    if (roll < 0.35) a.push(m);
    else if (roll < 0.7) b.push(m);
    else {
      a.push(m);
      b.push(m);
      count(world, 'message delivered to both workers at once');
    }
  }
  if (a.length > 0 && b.length > 0) count(world, 'concurrent worker pairs');
  const [failedA, failedB] = await Promise.all([
    invoke(consumer.workers[0], a, consumer.queue),
    invoke(consumer.workers[1], b, consumer.queue),
  ]);
  // A message both workers had is done when either finished it (the other's failure is a retry of work done).
  const failed = (m: Message) => {
    const id = m.MessageId ?? '';
    const inA = a.includes(m);
    const inB = b.includes(m);
    return (!inA || failedA.has(id)) && (!inB || failedB.has(id));
  };
  const done = messages.filter((m) => !failed(m));
  const retry = messages.filter(failed);
  for (let i = 0; i < done.length; i += 10)
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: consumer.queue.url,
        Entries: done
          .slice(i, i + 10)
          .map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle ?? '' })),
      }),
    );
  for (let i = 0; i < retry.length; i += 10)
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: consumer.queue.url,
        Entries: retry
          .slice(i, i + 10)
          .map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle ?? '', VisibilityTimeout: 1 })),
      }),
    );
  return messages.length;
}

/** Drain every queue with the racing workers, until empty or the bound. */
export async function racingDrain(
  world: World,
  stack: EmbeddedStack,
  consumers: readonly Consumer[],
): Promise<void> {
  const deadline = Date.now() + world.size.drainMs;
  while (Date.now() < deadline) {
    let handled = 0;
    for (const c of consumers) handled += await racePump(world, stack.sqs, c);
    if (handled > 0) continue;
    if ((await stack.pending()) === 0) return;
    await sleep(100);
  }
  throw new Error(`racing workers did not drain the queues within ${world.size.drainMs / 1000} s`);
}
