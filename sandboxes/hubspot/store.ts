// In-memory HubSpot portal: contacts and companies with HubSpot's property rules (unknown and
// read-only properties rejected, unique email and fieldsync_id), contact↔company associations, and
// a search index that lags the live data by `searchLagMs` like HubSpot's eventually consistent search.
import type { SeedDataset } from '../seed.ts';
import {
  conflictError,
  type HsErrorDetail,
  type HubSpotApiError,
  notFoundError,
  validationError,
} from './errors.ts';
import { type HsObjectType, otherType, SCHEMAS, uniqueKey } from './schema.ts';

/** A record as the direct API and the admin API hand it out: every property, `null` when empty. */
export interface HsRecord {
  id: string;
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
}

export interface StoredRecord {
  readonly id: string;
  readonly type: HsObjectType;
  /** Writable properties that hold a value (never ''). */
  readonly values: Map<string, string>;
  createdAt: number;
  updatedAt: number;
  archivedAt: number | undefined;
}

/** Validated property writes: `null` clears. */
export type PropertyWrites = ReadonlyMap<string, string | null>;

export type RawPropertyValue = string | number | boolean | null;

interface IndexVersion {
  /** When the change happened; it becomes searchable at `at + searchLagMs`. */
  at: number;
  record: StoredRecord | undefined;
}

export interface AssociationLink {
  id: string;
  primary: boolean;
}

export const iso = (ms: number): string => new Date(ms).toISOString();

export function isLive(record: StoredRecord): boolean {
  return record.archivedAt === undefined;
}

export interface StoreOptions {
  now: () => number;
  searchLagMs: number;
  /** First id handed out; ids are one sequence across object types, so a wrong-type lookup misses. */
  firstId?: number;
}

export class HubSpotStore {
  private readonly now: () => number;
  private readonly searchLagMs: number;
  private nextId: number;
  private readonly records: Record<HsObjectType, Map<string, StoredRecord>> = {
    contacts: new Map(),
    companies: new Map(),
  };
  /** `type:property` → unique key → id of the live record holding it. */
  private readonly unique = new Map<string, Map<string, string>>();
  private readonly versions: Record<HsObjectType, Map<string, IndexVersion[]>> = {
    contacts: new Map(),
    companies: new Map(),
  };
  /** contact id → company id → primary? */
  private readonly contactLinks = new Map<string, Map<string, boolean>>();
  /** company id → contact ids */
  private readonly companyLinks = new Map<string, Set<string>>();

  constructor(options: StoreOptions) {
    this.now = options.now;
    this.searchLagMs = options.searchLagMs;
    this.nextId = options.firstId ?? 101;
  }

  // ---- properties ----------------------------------------------------------------------------

  /** Checks property names and normalises values: numbers and booleans become strings, '' clears. */
  validateWrites(type: HsObjectType, raw: Readonly<Record<string, RawPropertyValue>>): PropertyWrites {
    const schema = SCHEMAS[type];
    const writes = new Map<string, string | null>();
    const invalid: { name: string; error: string; message: string }[] = [];
    for (const [name, value] of Object.entries(raw)) {
      const def = schema.properties.get(name);
      if (def === undefined) {
        invalid.push({ name, error: 'PROPERTY_DOESNT_EXIST', message: `Property "${name}" does not exist` });
      } else if (def.readOnly) {
        invalid.push({ name, error: 'READ_ONLY_VALUE', message: `"${name}" is a read only property` });
      } else {
        const text = value === null ? '' : String(value);
        writes.set(name, text === '' ? null : text);
      }
    }
    if (invalid.length > 0) {
      // HubSpot embeds the per-property verdicts as JSON in the message.
      const verdicts = invalid.map((i) => ({
        isValid: false,
        message: i.message,
        error: i.error,
        name: i.name,
        localizedErrorMessage: i.message,
      }));
      const details: HsErrorDetail[] = invalid.map((i) => ({
        message: i.message,
        in: i.name,
        code: i.error,
      }));
      throw validationError(`Property values were not valid: ${JSON.stringify(verdicts)}`, details);
    }
    return writes;
  }

  value(record: StoredRecord, name: string): string | undefined {
    if (name === 'hs_object_id') return record.id;
    if (name === 'createdate') return iso(record.createdAt);
    if (name === SCHEMAS[record.type].modifiedProperty) return iso(record.updatedAt);
    return record.values.get(name);
  }

  /** Every schema property, `null` when empty. */
  allProperties(record: StoredRecord): Record<string, string | null> {
    const out: Record<string, string | null> = {};
    for (const name of SCHEMAS[record.type].properties.keys()) out[name] = this.value(record, name) ?? null;
    return out;
  }

  toHsRecord(record: StoredRecord): HsRecord {
    return {
      id: record.id,
      properties: this.allProperties(record),
      createdAt: iso(record.createdAt),
      updatedAt: iso(record.updatedAt),
      archived: !isLive(record),
    };
  }

  // ---- lookup --------------------------------------------------------------------------------

  /** Live or archived record by object id. */
  byId(type: HsObjectType, id: string): StoredRecord | undefined {
    return this.records[type].get(id);
  }

  /** Resolves `id` as HubSpot does for `idProperty`: an object id by default, else a unique property. */
  resolve(
    type: HsObjectType,
    id: string,
    idProperty: string | undefined,
    archived = false,
  ): StoredRecord | undefined {
    if (idProperty === undefined || idProperty === 'hs_object_id') {
      const record = this.records[type].get(id);
      return record !== undefined && isLive(record) !== archived ? record : undefined;
    }
    this.assertIdProperty(type, idProperty);
    if (archived) {
      const key = uniqueKey(idProperty, id);
      for (const record of this.records[type].values()) {
        const value = record.values.get(idProperty);
        if (!isLive(record) && value !== undefined && uniqueKey(idProperty, value) === key) return record;
      }
      return undefined;
    }
    const holder = this.unique.get(`${type}:${idProperty}`)?.get(uniqueKey(idProperty, id));
    return holder === undefined ? undefined : this.records[type].get(holder);
  }

  assertIdProperty(type: HsObjectType, idProperty: string): void {
    if (idProperty === 'hs_object_id') return;
    const def = SCHEMAS[type].properties.get(idProperty);
    if (def === undefined || !def.unique) {
      throw validationError(
        `${idProperty} is not a unique property of ${SCHEMAS[type].label}; use a unique value property`,
      );
    }
  }

  /** Live records in id order. */
  live(type: HsObjectType): StoredRecord[] {
    return [...this.records[type].values()].filter(isLive);
  }

  archivedRecords(type: HsObjectType): StoredRecord[] {
    return [...this.records[type].values()].filter((r) => !isLive(r));
  }

  // ---- writes --------------------------------------------------------------------------------

  /**
   * The conflict a write would cause with live records (or with `pending` keys claimed earlier in
   * the same batch), or undefined.
   */
  conflict(
    type: HsObjectType,
    writes: PropertyWrites,
    selfId: string | undefined,
    pending?: Map<string, string>,
  ): HubSpotApiError | undefined {
    for (const [name, value] of writes) {
      if (value === null || SCHEMAS[type].properties.get(name)?.unique !== true) continue;
      const key = uniqueKey(name, value);
      const holder = this.unique.get(`${type}:${name}`)?.get(key) ?? pending?.get(`${name}:${key}`);
      if (holder !== undefined && holder !== selfId) {
        const message =
          name === 'email' && type === 'contacts'
            ? `Contact already exists. Existing ID: ${holder}`
            : `A ${SCHEMAS[type].label.toLowerCase()} with ${name} "${value}" already exists. Existing ID: ${holder}`;
        return conflictError(message, holder);
      }
    }
    return undefined;
  }

  /** Claims a batch input's unique values in `pending`, so a later input of the same batch conflicts. */
  claim(type: HsObjectType, writes: PropertyWrites, id: string, pending: Map<string, string>): void {
    for (const [name, value] of writes) {
      if (value !== null && SCHEMAS[type].properties.get(name)?.unique === true) {
        pending.set(`${name}:${uniqueKey(name, value)}`, id);
      }
    }
  }

  create(
    type: HsObjectType,
    writes: PropertyWrites,
    options: { createdAt?: number; modifiedAt?: number; seeded?: boolean } = {},
  ): StoredRecord {
    const clash = this.conflict(type, writes, undefined);
    if (clash !== undefined) throw clash;
    const at = this.now();
    const record: StoredRecord = {
      id: String(this.nextId++),
      type,
      values: new Map(),
      createdAt: options.createdAt ?? at,
      updatedAt: options.modifiedAt ?? at,
      archivedAt: undefined,
    };
    this.records[type].set(record.id, record);
    this.apply(record, writes);
    this.index(record, options.seeded === true ? Number.NEGATIVE_INFINITY : at);
    return record;
  }

  update(type: HsObjectType, id: string, writes: PropertyWrites): StoredRecord {
    const record = this.records[type].get(id);
    if (record === undefined || !isLive(record)) throw notFoundError();
    const clash = this.conflict(type, writes, id);
    if (clash !== undefined) throw clash;
    this.apply(record, writes);
    const at = this.now();
    record.updatedAt = at;
    this.index(record, at);
    return record;
  }

  /** Archives a live record; false if there was none. */
  archive(type: HsObjectType, id: string): boolean {
    const record = this.records[type].get(id);
    if (record === undefined || !isLive(record)) return false;
    for (const [name, value] of record.values) this.unindexUnique(type, name, value, id);
    const at = this.now();
    record.archivedAt = at;
    record.updatedAt = at;
    this.index(record, at);
    return true;
  }

  private apply(record: StoredRecord, writes: PropertyWrites): void {
    for (const [name, value] of writes) {
      const previous = record.values.get(name);
      if (previous !== undefined) this.unindexUnique(record.type, name, previous, record.id);
      if (value === null) {
        record.values.delete(name);
        continue;
      }
      record.values.set(name, value);
      if (SCHEMAS[record.type].properties.get(name)?.unique === true) {
        const slot = `${record.type}:${name}`;
        const map = this.unique.get(slot) ?? new Map<string, string>();
        map.set(uniqueKey(name, value), record.id);
        this.unique.set(slot, map);
      }
    }
  }

  private unindexUnique(type: HsObjectType, name: string, value: string, id: string): void {
    const map = this.unique.get(`${type}:${name}`);
    const key = uniqueKey(name, value);
    if (map?.get(key) === id) map.delete(key);
  }

  // ---- search index (eventual consistency) ---------------------------------------------------

  private index(record: StoredRecord, at: number): void {
    const versions = this.versions[record.type];
    const list = versions.get(record.id) ?? [];
    list.push({ at, record: isLive(record) ? { ...record, values: new Map(record.values) } : undefined });
    // Drop versions that a newer, already visible version hides for good (the clock moves forward).
    const horizon = this.searchHorizon();
    let visible = 0;
    list.forEach((v, i) => {
      if (v.at <= horizon) visible = i;
    });
    versions.set(record.id, visible > 0 ? list.slice(visible) : list);
  }

  /** Changes at or before this instant are searchable; without lag, all are (even if a test clock goes back). */
  private searchHorizon(): number {
    return this.searchLagMs === 0 ? Number.POSITIVE_INFINITY : this.now() - this.searchLagMs;
  }

  /** The records search sees now: each record's latest version at least `searchLagMs` old. */
  searchable(type: HsObjectType): StoredRecord[] {
    const horizon = this.searchHorizon();
    const out: StoredRecord[] = [];
    for (const list of this.versions[type].values()) {
      let seen: IndexVersion | undefined;
      for (const v of list) if (v.at <= horizon) seen = v;
      if (seen?.record !== undefined) out.push(seen.record);
    }
    return out;
  }

  // ---- associations (contact ↔ company) ------------------------------------------------------

  private pair(
    fromType: HsObjectType,
    fromId: string,
    toId: string,
  ): { contactId: string; companyId: string } {
    return fromType === 'contacts'
      ? { contactId: fromId, companyId: toId }
      : { contactId: toId, companyId: fromId };
  }

  /** Associates two live records; `primary` also makes the company the contact's only primary one. */
  associate(fromType: HsObjectType, fromId: string, toId: string, primary = false): void {
    const { contactId, companyId } = this.pair(fromType, fromId, toId);
    const contact = this.records.contacts.get(contactId);
    const company = this.records.companies.get(companyId);
    if (contact === undefined || !isLive(contact))
      throw notFoundError(`No contact with ID ${contactId} exists`);
    if (company === undefined || !isLive(company))
      throw notFoundError(`No company with ID ${companyId} exists`);
    const links = this.contactLinks.get(contactId) ?? new Map<string, boolean>();
    if (primary) for (const other of links.keys()) links.set(other, false);
    links.set(companyId, primary || (links.get(companyId) ?? false));
    this.contactLinks.set(contactId, links);
    const back = this.companyLinks.get(companyId) ?? new Set<string>();
    back.add(contactId);
    this.companyLinks.set(companyId, back);
  }

  /** Removes the primary label only (the unlabeled association stays). */
  unsetPrimary(fromType: HsObjectType, fromId: string, toId: string): void {
    const { contactId, companyId } = this.pair(fromType, fromId, toId);
    const links = this.contactLinks.get(contactId);
    if (links?.has(companyId) === true) links.set(companyId, false);
  }

  dissociate(fromType: HsObjectType, fromId: string, toId: string): void {
    const { contactId, companyId } = this.pair(fromType, fromId, toId);
    this.contactLinks.get(contactId)?.delete(companyId);
    this.companyLinks.get(companyId)?.delete(contactId);
  }

  /** Live records associated with a record, in id order. */
  links(fromType: HsObjectType, fromId: string): AssociationLink[] {
    const toType = otherType(fromType);
    const out: AssociationLink[] = [];
    if (fromType === 'contacts') {
      for (const [id, primary] of this.contactLinks.get(fromId) ?? []) out.push({ id, primary });
    } else {
      for (const id of this.companyLinks.get(fromId) ?? []) {
        out.push({ id, primary: this.contactLinks.get(id)?.get(fromId) ?? false });
      }
    }
    return out
      .filter((link) => {
        const target = this.records[toType].get(link.id);
        return target !== undefined && isLive(target);
      })
      .sort((a, b) => Number(a.id) - Number(b.id));
  }

  // ---- seed ----------------------------------------------------------------------------------

  /** Loads the `hubspot` side of the shared seed: companies, then contacts with their company link. */
  seed(dataset: SeedDataset): void {
    const day = 86_400_000;
    const companyIds = new Map<string, string>();
    dataset.hubspot.companies.forEach(({ record, modifiedAt }, i) => {
      const writes = new Map<string, string | null>([
        ['name', record.name],
        ['domain', record.domain],
        ['phone', record.phone],
        ['industry', record.industry],
      ]);
      const created = this.create('companies', writes, {
        createdAt: modifiedAt - day * (1 + (i % 7)),
        modifiedAt,
        seeded: true,
      });
      companyIds.set(record.key, created.id);
    });
    dataset.hubspot.people.forEach(({ record, modifiedAt }, i) => {
      const writes = new Map<string, string | null>([
        ['email', record.email],
        ['firstname', record.firstName],
        ['lastname', record.lastName],
        ['phone', record.phone],
        ['jobtitle', record.title === '' ? null : record.title],
      ]);
      const created = this.create('contacts', writes, {
        createdAt: modifiedAt - day * (1 + (i % 7)),
        modifiedAt,
        seeded: true,
      });
      const companyId = record.companyKey === undefined ? undefined : companyIds.get(record.companyKey);
      if (companyId !== undefined) this.associate('contacts', created.id, companyId, true);
    });
  }
}
