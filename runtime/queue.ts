// Queue port and its SQS adapter. Bodies are packed into messages well under the SQS size limit
// and sent ten to a SendMessageBatch call.
import { GetQueueAttributesCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';

export interface Queue {
  /** Send each body as one message; delaySeconds (0-900) holds them back. */
  send(queueUrl: string, bodies: readonly string[], delaySeconds?: number): Promise<void>;
  /** Messages waiting, in flight or delayed (SQS's approximate counts); absent: not known. */
  backlog?(queueUrl: string): Promise<number>;
}

/** Keep each message and each batch well under SQS's 256 KiB. */
export const MAX_MESSAGE_BYTES = 60_000;
const MAX_BATCH_BYTES = 200_000;

export class SqsQueue implements Queue {
  readonly client: SQSClient;
  readonly requests: Record<string, number> = {};
  constructor(client: SQSClient = new SQSClient({})) {
    this.client = client;
  }

  async backlog(queueUrl: string): Promise<number> {
    this.requests.GetQueueAttributes = (this.requests.GetQueueAttributes ?? 0) + 1;
    const res = await this.client.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ],
      }),
    );
    const a = res.Attributes ?? {};
    return (
      Number(a.ApproximateNumberOfMessages ?? 0) +
      Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) +
      Number(a.ApproximateNumberOfMessagesDelayed ?? 0)
    );
  }

  async send(queueUrl: string, bodies: readonly string[], delaySeconds = 0): Promise<void> {
    let batch: string[] = [];
    let bytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      this.requests.SendMessageBatch = (this.requests.SendMessageBatch ?? 0) + 1;
      const res = await this.client.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: batch.map((MessageBody, i) => ({
            Id: String(i),
            MessageBody,
            DelaySeconds: Math.min(900, Math.max(0, Math.round(delaySeconds))),
          })),
        }),
      );
      const failed = res.Failed ?? [];
      if (failed.length > 0)
        throw new Error(
          `SQS refused ${failed.length} message(s): ${failed[0]?.Code ?? ''} ${failed[0]?.Message ?? ''}`,
        );
      batch = [];
      bytes = 0;
    };
    for (const body of bodies) {
      const size = Buffer.byteLength(body);
      if (batch.length === 10 || bytes + size > MAX_BATCH_BYTES) await flush();
      batch.push(body);
      bytes += size;
    }
    await flush();
  }
}

/** Pack items into JSON message bodies of at most `maxItems` items and about MAX_MESSAGE_BYTES. */
export function packMessages<T>(items: readonly T[], wrap: (part: T[]) => unknown, maxItems = 100): string[] {
  const out: string[] = [];
  let part: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(item));
    if (part.length > 0 && (part.length >= maxItems || bytes + size > MAX_MESSAGE_BYTES)) {
      out.push(JSON.stringify(wrap(part)));
      part = [];
      bytes = 0;
    }
    part.push(item);
    bytes += size;
  }
  if (part.length > 0) out.push(JSON.stringify(wrap(part)));
  return out;
}
