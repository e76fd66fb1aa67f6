// SQS batch handling with partial batch responses. Unlike Powertools' BatchProcessor, which runs a
// handler per record, the whole batch goes to the use case at once: that is what lets the writer
// coalesce ids into 100- and 200-record API calls. A failing batch is retried message by message,
// so one poison message fails alone and ends in the DLQ after maxReceiveCount.
import { Logger } from '@aws-lambda-powertools/logger';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { z } from 'zod';

export const logger = new Logger({ serviceName: 'fieldsync' });

export interface ParsedMessage<T> {
  messageId: string;
  body: T;
}

export function sqsBatchHandler<S extends z.ZodType>(
  schema: S,
  process: (messages: ParsedMessage<z.infer<S>>[]) => Promise<void>,
): (event: SQSEvent) => Promise<SQSBatchResponse> {
  return async (event) => {
    const failures: { itemIdentifier: string }[] = [];
    const valid: ParsedMessage<z.infer<S>>[] = [];
    for (const record of event.Records) {
      let json: unknown;
      try {
        json = JSON.parse(record.body);
      } catch {
        json = undefined;
      }
      const parsed = schema.safeParse(json);
      if (parsed.success) valid.push({ messageId: record.messageId, body: parsed.data });
      else {
        logger.error('invalid queue message', {
          messageId: record.messageId,
          issue: parsed.error.issues[0]?.message,
        });
        failures.push({ itemIdentifier: record.messageId });
      }
    }
    if (valid.length === 0) return { batchItemFailures: failures };
    try {
      await process(valid);
    } catch (err) {
      if (valid.length === 1) {
        logger.error('message failed', { messageId: valid[0]?.messageId, error: describe(err) });
        failures.push(...valid.map((m) => ({ itemIdentifier: m.messageId })));
      } else {
        logger.warn('batch failed, retrying message by message', { error: describe(err) });
        for (const message of valid) {
          try {
            await process([message]);
          } catch (inner) {
            logger.error('message failed', { messageId: message.messageId, error: describe(inner) });
            failures.push({ itemIdentifier: message.messageId });
          }
        }
      }
    }
    return { batchItemFailures: failures };
  };
}

/** Error name and message only: vendor messages may quote field values, so no bodies. */
export function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
