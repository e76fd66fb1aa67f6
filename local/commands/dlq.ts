// fieldsync dlq [list|replay] [--json]: the messages the embedded stack's queues gave up on (after
// MAX_RECEIVE_COUNT receives SQS moves a message to `<queue>-dlq`), and moving them back to their
// source queue, where the next `fieldsync sync --once` (or `dev`) processes them again.

import { parseArgs } from 'node:util';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { ConfigError } from '../../runtime/config.ts';
import { SqsQueue } from '../../runtime/queue.ts';
import { requireSettings } from '../cli.ts';
import { type QueueRef, startEmbedded } from '../stack.ts';
import { isoTime, type Out, plural, table } from './format.ts';
import { openState, stateDirOf } from './state.ts';

/** How much of a message body the text listing shows (bodies hold ids, never field values). */
const BODY_PREVIEW = 100;
/** Held invisible while the listing reads the whole queue, then made visible again at once. */
const HOLD_SECONDS = 60;

export interface DlqMessage {
  id: string;
  /** When it was first sent (to the source queue). */
  sentAt: number | null;
  /** How many times it was received, in the source queue and here. */
  receives: number | null;
  body: string;
}

export interface DlqEntry {
  queue: string;
  dlq: string;
  count: number;
  messages: DlqMessage[];
}

export interface DlqStack {
  sqs: SQSClient;
  queues: Readonly<Record<string, QueueRef>>;
}

function dlqName(q: QueueRef): string {
  return `${q.name}-dlq`;
}

/**
 * Every message now in `url`. `hold`: received once each and held invisible, to delete them after;
 * else peeked (visibility 0, so they stay visible), until a receive brings nothing new. Peeking avoids
 * ChangeMessageVisibility, which fauxqs refuses for dead-lettered messages (and then loses them).
 */
async function receiveAll(sqs: SQSClient, url: string, hold: boolean): Promise<Message[]> {
  const out = new Map<string, Message>();
  for (;;) {
    const res = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: hold ? HOLD_SECONDS : 0,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const got = (res.Messages ?? []).filter((m) => !out.has(m.MessageId ?? ''));
    if (got.length === 0) return [...out.values()];
    for (const m of got) out.set(m.MessageId ?? '', m);
  }
}

async function remove(sqs: SQSClient, url: string, messages: readonly Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    const res = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: messages
          .slice(i, i + 10)
          .map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle ?? '' })),
      }),
    );
    const failed = res.Failed ?? [];
    if (failed.length > 0)
      throw new Error(
        `could not delete ${failed.length} replayed message(s) from the DLQ: ${failed[0]?.Message ?? ''}`,
      );
  }
}

function toEntry(m: Message): DlqMessage {
  const a = m.Attributes ?? {};
  const num = (v: string | undefined) => (v === undefined || !Number.isFinite(Number(v)) ? null : Number(v));
  return {
    id: m.MessageId ?? '',
    sentAt: num(a.SentTimestamp),
    receives: num(a.ApproximateReceiveCount),
    body: m.Body ?? '',
  };
}

/** The messages in every dead-letter queue, left where they are. */
export async function listDlq(stack: DlqStack): Promise<DlqEntry[]> {
  const entries: DlqEntry[] = [];
  for (const q of Object.values(stack.queues)) {
    const messages = await receiveAll(stack.sqs, q.dlqUrl, false);
    entries.push({
      queue: q.name,
      dlq: dlqName(q),
      count: messages.length,
      messages: messages.map(toEntry).sort((a, b) => (a.sentAt ?? 0) - (b.sentAt ?? 0)),
    });
  }
  return entries;
}

/** Move every dead-lettered message back to its source queue (sent first, then deleted from the DLQ). */
export async function replayDlq(stack: DlqStack): Promise<DlqEntry[]> {
  const queue = new SqsQueue(stack.sqs);
  const entries: DlqEntry[] = [];
  for (const q of Object.values(stack.queues)) {
    const messages = await receiveAll(stack.sqs, q.dlqUrl, true);
    if (messages.length > 0) {
      // At least once: a crash between send and delete replays a message twice, which the handlers tolerate.
      await queue.send(
        q.url,
        messages.map((m) => m.Body ?? ''),
      );
      await remove(stack.sqs, q.dlqUrl, messages);
    }
    entries.push({ queue: q.name, dlq: dlqName(q), count: messages.length, messages: messages.map(toEntry) });
  }
  return entries;
}

function preview(body: string): string {
  const one = body.replace(/\s+/g, ' ');
  return one.length > BODY_PREVIEW ? `${one.slice(0, BODY_PREVIEW - 1)}…` : one;
}

export function formatDlq(entries: readonly DlqEntry[], out: Out): void {
  const total = entries.reduce((n, e) => n + e.count, 0);
  out(`${plural(total, 'dead-lettered message')} (fieldsync dlq replay moves them back to their queue)`);
  for (const e of entries) {
    out('');
    out(`${e.dlq}: ${plural(e.count, 'message')} (source ${e.queue})`);
    if (e.count === 0) continue;
    for (const l of table(
      ['message id', 'sent', 'receives', 'body'],
      e.messages.map((m) => [
        m.id,
        isoTime(m.sentAt),
        m.receives === null ? '-' : String(m.receives),
        preview(m.body),
      ]),
    ))
      out(l);
  }
}

export async function dlqCommand(
  stack: DlqStack,
  action: 'list' | 'replay',
  json: boolean,
  out: Out,
): Promise<DlqEntry[]> {
  const entries = action === 'list' ? await listDlq(stack) : await replayDlq(stack);
  if (json) {
    out(
      JSON.stringify({ action, count: entries.reduce((n, e) => n + e.count, 0), queues: entries }, null, 2),
    );
  } else if (action === 'list') formatDlq(entries, out);
  else {
    const moved = entries.filter((e) => e.count > 0);
    out(
      moved.length === 0
        ? 'nothing to replay: every dead-letter queue is empty'
        : `replayed ${moved.map((e) => `${plural(e.count, 'message')} to ${e.queue}`).join(', ')}; run fieldsync sync --once to process them`,
    );
  }
  return entries;
}

/** The CLI: `dlq [list|replay] [--json]` on the embedded stack of the state dir (no queue is drained). */
export async function runDlq(args: readonly string[], env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: { json: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  const [action = 'list', ...extra] = positionals;
  if ((action !== 'list' && action !== 'replay') || extra.length > 0)
    throw new ConfigError('usage: fieldsync dlq [list|replay] [--json]');
  const { creds } = await requireSettings(env);
  const dir = stateDirOf(env);
  // The same one-line refusals as the other commands: no state yet, or held by `fieldsync dev`.
  await (await openState(dir)).close();
  const stack = await startEmbedded({ stateDir: dir, credentials: creds });
  try {
    await dlqCommand(stack, action, values.json === true, out);
    return 0;
  } finally {
    await stack.stop();
  }
}
