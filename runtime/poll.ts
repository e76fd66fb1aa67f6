// Poll use case: read each object's changes since its cursor, queue them for ingest, and advance the
// cursor only after the page is durably queued.
import type { Connector } from '../connectors/types.ts';
import type { ObjectType } from '../engine/index.ts';
import type { IngestMessage } from './messages.ts';
import { packMessages, type Queue } from './queue.ts';
import type { Store } from './store.ts';

export interface PollDeps {
  store: Store;
  queue: Queue;
  connector: Connector;
  ingestQueueUrl: string;
  onPage?: (object: ObjectType, records: number) => void;
}

export interface PollOptions {
  /** Ignore the stored cursors and read everything (a newly mapped field is backfilled this way). */
  fromScratch?: boolean;
}

export interface PollReport {
  system: string;
  polled: Record<string, number>;
  pages: number;
}

export async function pollSystem(
  deps: PollDeps,
  objects: readonly ObjectType[],
  options: PollOptions = {},
): Promise<PollReport> {
  const system = deps.connector.system;
  const report: PollReport = { system, polled: {}, pages: 0 };
  // Referenced objects first, so references usually resolve on the first ingest.
  for (const object of objects) {
    report.polled[object] = 0;
    const cursor = options.fromScratch === true ? undefined : await deps.store.getCursor(system, object);
    for await (const page of deps.connector.poll(object, cursor)) {
      if (page.changes.length > 0) {
        await deps.queue.send(
          deps.ingestQueueUrl,
          packMessages(page.changes, (part): IngestMessage => ({ v: 1, changes: part, attempt: 0 })),
        );
      }
      if (Object.keys(page.cursor).length > 0) await deps.store.putCursor(system, object, page.cursor);
      report.pages++;
      report.polled[object] = (report.polled[object] ?? 0) + page.changes.length;
      deps.onPage?.(object, page.changes.length);
    }
  }
  return report;
}
