// fieldsync audit <system>:<object>:<id> | <canonical id>: a record's current fields and its field
// history from the AUDIT items, oldest first.
import { z } from 'zod';
import { SYSTEMS } from '../../connectors/systems.ts';
import { type CanonicalRecord, OBJECT_TYPES, type ObjectType } from '../../engine/index.ts';
import { ConfigError } from '../../runtime/config.ts';
import type { AuditRow, Store } from '../../runtime/store.ts';
import { describeLinks, isoTime, type Out, plural, showValue, table } from './format.ts';
import { findCanonical } from './operate.ts';

export type AuditTarget =
  | { by: 'link'; system: string; object: ObjectType; externalId: string }
  | { by: 'canonical'; canonicalId: string };

const FORMS =
  '<system>:<object>:<id> (e.g. salesforce:contact:003...) or a canonical id (e.g. contact_3f2a...)';

const linkTargetSchema = z.object({
  system: z.enum(SYSTEMS, { error: `system must be one of ${SYSTEMS.join(', ')}` }),
  object: z.enum(OBJECT_TYPES, { error: `object must be one of ${OBJECT_TYPES.join(', ')}` }),
  externalId: z.string().trim().min(1, 'id must not be empty'),
});
const canonicalIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/);

/** Parse the record argument: a link `system:object:id`, or a canonical id such as `contact_<hex>`. */
export function parseAuditTarget(arg: string): AuditTarget {
  if (!arg.includes(':')) {
    if (!canonicalIdSchema.safeParse(arg).success) throw new ConfigError(`audit: '${arg}' is not ${FORMS}`);
    return { by: 'canonical', canonicalId: arg };
  }
  const [system, object, ...rest] = arg.split(':');
  if (rest.length === 0) throw new ConfigError(`audit: '${arg}' is not ${FORMS}`);
  const parsed = linkTargetSchema.safeParse({ system, object, externalId: rest.join(':') });
  if (!parsed.success)
    throw new ConfigError(`audit: '${arg}': ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return { by: 'link', ...parsed.data };
}

export interface AuditReport {
  record: CanonicalRecord;
  history: AuditRow[];
}

export async function loadAudit(store: Store, target: AuditTarget): Promise<AuditReport> {
  let record: CanonicalRecord | undefined;
  if (target.by === 'link') {
    const name = `${target.system}:${target.object}:${target.externalId}`;
    const links = await store.getLinks(target.system, target.object, [target.externalId]);
    const linked = links.get(target.externalId);
    if (linked === undefined) throw new ConfigError(`audit: no record linked to ${name}`);
    record = (await store.getRecords(target.object, [linked])).get(linked);
    if (record === undefined)
      throw new ConfigError(`audit: ${name} is linked to ${linked}, which is not stored`);
  } else {
    record = await findCanonical(store, target.canonicalId);
    if (record === undefined) throw new ConfigError(`audit: no record ${target.canonicalId}`);
  }
  // Stored in key order (time, then position in its batch); a stable sort on time keeps that order.
  const history = (await store.audit(record.id)).sort((a, b) => a.at - b.at);
  return { record, history };
}

export function formatAudit({ record, history }: AuditReport, out: Out): void {
  out(`${record.object} ${record.id}  version ${record.version}`);
  out(`links: ${describeLinks(record.links)}`);
  out('');
  const fields = Object.entries(record.fields);
  out(`fields (${fields.length}):`);
  for (const l of table(
    ['field', 'value', 'source', 'source time'],
    fields.map(([name, s]) => [name, showValue(s.value), s.source, isoTime(s.sourceTime)]),
  ))
    out(l);
  out('');
  out(`history (${plural(history.length, 'row')}, oldest first):`);
  for (const l of table(
    ['time', 'field', 'old → new', 'source', 'source time', 'reason', 'kept'],
    history.map((r) => [
      isoTime(r.at),
      r.field,
      `${showValue(r.old)} → ${showValue(r.new)}`,
      r.source,
      isoTime(r.sourceTime),
      r.reason,
      showValue(r.kept),
    ]),
  ))
    out(l);
}

/** Parse the argument with `parseAuditTarget` first, so a bad one fails before the state is opened. */
export async function auditCommand(
  store: Store,
  target: AuditTarget,
  json: boolean,
  out: Out,
): Promise<void> {
  const report = await loadAudit(store, target);
  if (json) out(JSON.stringify(report, null, 2));
  else formatAudit(report, out);
}
