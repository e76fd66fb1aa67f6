// Webhook notices into source changes: one batch read per object (the record as it is now, with its
// modification time), deletes as tombstone changes, merges as the merged record carrying its merged ids.
import type { ChangeNotice, Connector, SourceChange } from '../connectors/types.ts';
import { OBJECT_TYPES } from '../engine/index.ts';

export async function resolveNotices(
  connector: Connector,
  notices: readonly ChangeNotice[],
): Promise<SourceChange[]> {
  const out: SourceChange[] = [];
  for (const object of OBJECT_TYPES) {
    const mine = notices.filter((n) => n.object === object && n.system === connector.system);
    if (mine.length === 0) continue;
    const mergedInto = new Map<string, string[]>();
    const toRead = new Set<string>();
    for (const n of mine) {
      if (n.kind === 'delete') {
        out.push({
          system: n.system,
          object,
          externalId: n.externalId,
          modifiedAt: n.occurredAt,
          fields: {},
          refs: {},
          deleted: { at: n.occurredAt },
        });
        continue;
      }
      const id = n.kind === 'merge' ? (n.newId ?? n.externalId) : n.externalId;
      if (n.kind === 'merge') mergedInto.set(id, [...(mergedInto.get(id) ?? []), ...(n.mergedIds ?? [])]);
      toRead.add(id);
    }
    if (toRead.size === 0) continue;
    // Read now, not from the notice: the record may have changed again since (and notices carry no values).
    for (const change of await connector.read(object, [...toRead])) {
      const merged = mergedInto.get(change.externalId);
      out.push(
        merged === undefined
          ? change
          : { ...change, mergedIds: [...new Set([...(change.mergedIds ?? []), ...merged])] },
      );
    }
  }
  return out;
}
