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
    // Records whose notices are all property changes: their links (HubSpot associations, a call of
    // their own) are not re-read; an association change comes as its own notice, and polls read links.
    const withLinks = new Set<string>();
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
      if (n.kind !== 'change' || n.propertyName === undefined) withLinks.add(id);
    }
    if (toRead.size === 0) continue;
    const propertiesOnly = [...toRead].filter((id) => !withLinks.has(id));
    // Read now, not from the notice: the record may have changed again since (and notices carry no values).
    const read = [
      ...(withLinks.size === 0 ? [] : await connector.read(object, [...withLinks])),
      ...(propertiesOnly.length === 0 ? [] : await connector.read(object, propertiesOnly, { refs: false })),
    ];
    for (const change of read) {
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
