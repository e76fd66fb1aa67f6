// HubSpot <-> canonical property mapping, driven by the config's HubSpot view.
import type { FilterInput, SystemObject, SystemView } from '../../config/index.ts';
import type { FieldValue, ObjectType } from '../../engine/index.ts';
import { BadResponseError } from '../errors.ts';
import { canonicalValue, replacedVersion, toNativeValue } from '../mapping.ts';
import type { ReplacedValues, SourceChange, WriteOp } from '../types.ts';

export const SYSTEM = 'hubspot';
/** Custom property (unique values) fieldsync stamps on records it creates, for idempotent batch upserts. */
export const FIELDSYNC_ID_PROPERTY = 'fieldsync_id';

export function objectView(view: SystemView, object: ObjectType): SystemObject {
  const o = view.objects[object];
  if (o === undefined) throw new Error(`hubspot: the config does not sync ${object}`);
  return o;
}

/** The last-modified property search can filter on: contacts use `lastmodifieddate`, other objects
 * `hs_lastmodifieddate` (CRM search guide, default properties). */
export function modifiedProperty(objectType: string): string {
  return objectType === 'contacts' ? 'lastmodifieddate' : 'hs_lastmodifieddate';
}

/** Ids of the records merged into this one, semicolon-separated. */
export const MERGED_IDS_PROPERTY = 'hs_merged_object_ids';

export function readProperties(o: SystemObject): string[] {
  return [
    ...new Set([
      ...o.fields.map((f) => f.native),
      FIELDSYNC_ID_PROPERTY,
      MERGED_IDS_PROPERTY,
      modifiedProperty(o.native),
    ]),
  ];
}

export function mergedIdsOf(record: HubSpotObject): string[] {
  const raw = record.properties[MERGED_IDS_PROPERTY];
  return typeof raw === 'string'
    ? raw
        .split(';')
        .map((s) => s.trim())
        .filter((s) => s !== '' && s !== record.id)
    : [];
}

export interface HubSpotObject {
  id: string;
  properties: Record<string, string | null | undefined>;
  updatedAt?: Date | string | undefined;
}

export interface SearchFilter {
  propertyName: string;
  operator: 'EQ' | 'NEQ' | 'IN' | 'NOT_IN' | 'HAS_PROPERTY' | 'GTE';
  value?: string;
  values?: string[];
}

const SEARCH_FILTER: Record<FilterInput['operator'], (f: FilterInput) => SearchFilter> = {
  eq: (f) => ({ propertyName: f.field, operator: 'EQ', value: f.value ?? '' }),
  neq: (f) => ({ propertyName: f.field, operator: 'NEQ', value: f.value ?? '' }),
  in: (f) => ({ propertyName: f.field, operator: 'IN', values: f.values ?? [] }),
  notIn: (f) => ({ propertyName: f.field, operator: 'NOT_IN', values: f.values ?? [] }),
  hasValue: (f) => ({ propertyName: f.field, operator: 'HAS_PROPERTY' }),
};

/** The config's HubSpot filters as search filters (AND-ed within the filter group). */
export function searchFilters(filters: readonly FilterInput[]): SearchFilter[] {
  return filters.map((f) => SEARCH_FILTER[f.operator](f));
}

export function modifiedAtOf(o: SystemObject, record: HubSpotObject): number {
  const raw = record.properties[modifiedProperty(o.native)];
  const fromProperty = typeof raw === 'string' ? parseHubSpotTime(raw) : Number.NaN;
  if (!Number.isNaN(fromProperty)) return fromProperty;
  const updated =
    record.updatedAt instanceof Date ? record.updatedAt.getTime() : Date.parse(String(record.updatedAt));
  if (Number.isNaN(updated))
    throw new BadResponseError(SYSTEM, `${o.native} ${record.id}: the answer has no modification time`);
  return updated;
}

/** HubSpot datetime properties are ISO strings or ms-epoch strings. */
export function parseHubSpotTime(raw: string): number {
  return /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
}

export function toChange(
  object: ObjectType,
  o: SystemObject,
  record: HubSpotObject,
  refs: Record<string, string | null>,
  view: SystemView,
): SourceChange {
  const fields: Record<string, FieldValue> = {};
  for (const f of o.fields) {
    // A requested property that is not in the answer is not defined in the portal ("it won't be included
    // in the response"; no value is `null`): nothing is known about it, so it is no blank to merge.
    if (!Object.hasOwn(record.properties, f.native)) continue;
    fields[f.name] = canonicalValue(f, record.properties[f.native], view);
  }
  const fieldsyncId = record.properties[FIELDSYNC_ID_PROPERTY];
  const mergedIds = mergedIdsOf(record);
  return {
    system: SYSTEM,
    object,
    externalId: record.id,
    modifiedAt: modifiedAtOf(o, record),
    fields,
    refs,
    ...(typeof fieldsyncId === 'string' && fieldsyncId !== '' ? { fieldsyncId } : {}),
    ...(mergedIds.length > 0 ? { mergedIds } : {}),
  };
}

/** One entry of a property's history (`ValueWithTimestamp`), as the client hands it out. */
export interface PropertyVersion {
  value?: string | null | undefined;
  timestamp: Date | string;
  sourceType?: string | undefined;
  sourceId?: string | undefined;
}

/** How far HubSpot's clock may be behind ours when finding our own history entry. */
const CLOCK_SKEW_MS = 2_000;

/**
 * What an update replaced: per written field, the latest value someone else set after `asOf` (the
 * record's time as fieldsync last merged it, checked unchanged just before the write) and before this
 * write's own entry. Such a value was set between that check and the write, and nobody has seen it.
 *
 * Who made an entry is its source (`sourceType`, `sourceId`); see `replacedVersion`.
 */
export function replacedValues(
  o: SystemObject,
  op: WriteOp,
  history: Readonly<Record<string, readonly PropertyVersion[]>>,
  view: SystemView,
  sentAt: number,
): ReplacedValues | undefined {
  const asOf = op.asOf;
  if (asOf === undefined) return undefined;
  const out: ReplacedValues = { fields: {}, times: {} };
  for (const [name, written] of Object.entries(op.fields)) {
    const f = o.fields.find((x) => x.name === name);
    if (f === undefined) continue;
    // HubSpot lists the newest first: reversed, entries of one millisecond stay in the order they came.
    const versions = [...(history[f.native] ?? [])]
      .reverse()
      .map((v) => ({
        value: canonicalValue(f, v.value === '' ? null : v.value, view),
        at: timeOf(v.timestamp),
        by: `${v.sourceType ?? ''}|${v.sourceId ?? ''}`,
      }))
      .filter((v) => v.at > asOf)
      .sort((a, b) => a.at - b.at);
    const before = replacedVersion(versions, written, sentAt - CLOCK_SKEW_MS);
    if (before === undefined) continue;
    out.fields[name] = before.value;
    out.times[name] = before.at;
  }
  return Object.keys(out.fields).length === 0 ? undefined : out;
}

/** Canonical field -> when its property last changed (its newest history entry). */
export function lastChanged(
  o: SystemObject,
  history: Readonly<Record<string, readonly PropertyVersion[]>>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of o.fields) {
    const newest = Math.max(...(history[f.native] ?? []).map((v) => timeOf(v.timestamp)));
    if (Number.isFinite(newest)) out[f.name] = newest;
  }
  return out;
}

function timeOf(raw: Date | string): number {
  return raw instanceof Date ? raw.getTime() : parseHubSpotTime(raw);
}

/** HubSpot property values for a write op: strings; an empty string clears a property. */
export function toProperties(o: SystemObject, op: WriteOp): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(op.fields)) {
    const f = o.fields.find((x) => x.name === name);
    if (f !== undefined) out[f.native] = String(toNativeValue(f, value, 'string') ?? '');
  }
  return out;
}
