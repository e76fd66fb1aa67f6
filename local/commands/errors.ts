// fieldsync errors [--json]: the records a system refused for good (non-retryable, or out of retries),
// parked by the writers with the vendor's code and message; one line each, and how many.
import type { ObjectType } from '../../engine/index.ts';
import type { Store, SyncError } from '../../runtime/store.ts';
import { describeLinks, isoTime, type Out, plural, table } from './format.ts';

export interface ErrorEntry extends SyncError {
  /** The record's links in every system (native ids), as stored now. */
  links: Record<string, string>;
}

export async function loadErrors(store: Store): Promise<ErrorEntry[]> {
  const errors = await store.listErrors();
  const byObject = new Map<ObjectType, string[]>();
  for (const e of errors) byObject.set(e.object, [...(byObject.get(e.object) ?? []), e.canonicalId]);
  const links = new Map<string, Record<string, string>>();
  for (const [object, ids] of byObject)
    for (const [id, record] of await store.getRecords(object, [...new Set(ids)])) links.set(id, record.links);
  return errors
    .map((e) => ({ ...e, links: links.get(e.canonicalId) ?? {} }))
    .sort(
      (a, b) => a.at - b.at || a.system.localeCompare(b.system) || a.canonicalId.localeCompare(b.canonicalId),
    );
}

export function formatErrors(entries: readonly ErrorEntry[], out: Out): void {
  out(
    `${plural(entries.length, 'sync error')} (records a system refused for good; see fieldsync audit <record> for its history)`,
  );
  if (entries.length === 0) return;
  for (const l of table(
    ['system', 'object', 'canonical id', 'links', 'code', 'when', 'message'],
    entries.map((e) => [
      e.system,
      e.object,
      e.canonicalId,
      describeLinks(e.links),
      e.code,
      isoTime(e.at),
      // One line each: vendor messages may carry newlines.
      e.message.replace(/\s+/g, ' ').trim(),
    ]),
  ))
    out(l);
}

export async function errorsCommand(store: Store, json: boolean, out: Out): Promise<void> {
  const entries = await loadErrors(store);
  if (json) out(JSON.stringify({ count: entries.length, errors: entries }, null, 2));
  else formatErrors(entries, out);
}
