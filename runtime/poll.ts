// Poll use case: read each object's changes since its cursor, queue them for ingest, and advance the
// cursor only after the page is durably queued.
import type { Connector, SourceChange } from '../connectors/types.ts';
import { canonicalIdFor, type ObjectType } from '../engine/index.ts';
import type { IngestMessage } from './messages.ts';
import { packMessages, type Queue } from './queue.ts';
import type { Store } from './store.ts';

export interface PollDeps {
  store: Store;
  queue: Queue;
  connector: Connector;
  ingestQueueUrl: string;
  onPage?: (object: ObjectType, records: number) => void;
  now?: () => number;
}

/**
 * A change this large can never be stored: a canonical record holds each value at least twice (the
 * field and the source's shadow) and a DynamoDB item at most 400 KB. Queued, it would also pass SQS's
 * 1 MiB message limit: the page would fail every poll and stop the object's sync for every record.
 */
export const MAX_CHANGE_BYTES = 200_000;

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
      const changes = await withFirstLinkTimes(
        deps.store,
        deps.connector,
        object,
        await parkOversized(deps, object, page.changes),
      );
      if (changes.length > 0) {
        await deps.queue.send(
          deps.ingestQueueUrl,
          packMessages(changes, (part): IngestMessage => ({ v: 1, changes: part, attempt: 0 })),
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

/**
 * Records of this system not linked yet get their fields' own change times, where the system keeps them
 * (HubSpot property history): at a pair's first merge, a HubSpot record changed yesterday in one field
 * must not date its other, older values yesterday and so beat a newer Salesforce edit of them. Linked
 * records need none: their shadow tells which fields changed. One read per 50 unlinked records.
 */
export async function withFirstLinkTimes(
  store: Store,
  connector: Connector,
  object: ObjectType,
  changes: readonly SourceChange[],
): Promise<SourceChange[]> {
  const enrich = connector.withFieldTimes?.bind(connector);
  const live = changes.filter((c) => c.deleted === undefined);
  if (enrich === undefined || live.length === 0) return [...changes];
  const links = await store.getLinks(
    connector.system,
    object,
    live.map((c) => c.externalId),
  );
  const unlinked = live.filter((c) => !links.has(c.externalId));
  if (unlinked.length === 0) return [...changes];
  const timed = new Map((await enrich(object, unlinked)).map((c) => [c.externalId, c]));
  return changes.map((c) => (c.deleted === undefined ? (timed.get(c.externalId) ?? c) : c));
}

/** Park changes too large to store as sync errors (ids and sizes only), so the poll goes on past them. */
async function parkOversized(
  deps: PollDeps,
  object: ObjectType,
  changes: readonly SourceChange[],
): Promise<SourceChange[]> {
  const sized = changes.map((change) => ({ change, bytes: Buffer.byteLength(JSON.stringify(change)) }));
  const oversized = sized.filter((s) => s.bytes > MAX_CHANGE_BYTES);
  if (oversized.length === 0) return [...changes];
  const system = deps.connector.system;
  const ids = oversized.map((s) => s.change.externalId);
  const links = await deps.store.getLinks(system, object, ids);
  for (const { change, bytes } of oversized) {
    await deps.store.putError({
      system,
      object,
      canonicalId: links.get(change.externalId) ?? canonicalIdFor(system, object, change.externalId),
      code: 'RECORD_TOO_LARGE',
      message: `${system} ${object} ${change.externalId}: ${bytes} bytes of field values, more than a record holds (${MAX_CHANGE_BYTES}); not synced until it is smaller`,
      at: (deps.now ?? Date.now)(),
    });
  }
  return sized.filter((s) => s.bytes <= MAX_CHANGE_BYTES).map((s) => s.change);
}
