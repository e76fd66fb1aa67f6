// In-memory org: records per sObject, write validation as Salesforce applies it, audit
// timestamps at second precision, a recycle bin for getDeleted, and snapshots for allOrNone.
import type { RecordError } from './errors.ts';
import { floorSecond, formatDateTime, makeId, parseDate, parseDateTime, to18 } from './format.ts';
import {
  type FieldDef,
  type MergeableSObject,
  type ObjectDef,
  OrgSchema,
  objectForId,
  resolveField,
  type SObjectName,
} from './schema.ts';

/** Field values as the REST API carries them: currency/double are JSON numbers, checkboxes booleans. */
export type SfValue = string | number | boolean | null;
/** Validated writes: canonical field → typed value. */
export type FieldValues = Map<FieldDef, SfValue>;
export type SfRecord = { Id: string; [field: string]: SfValue };

interface Stored {
  record: SfRecord;
  /** ms when the record went to the recycle bin. */
  deletedAt: number | undefined;
}

interface State {
  records: Record<SObjectName, Map<string, Stored>>;
  counters: Record<SObjectName, number>;
  /** Field history (every field tracked here), oldest first: `ContactHistory`, `AccountHistory`, ... */
  history: HistoryRow[];
}

/** One field change, as the `<Object>History` objects show it (field history tracking). */
export interface HistoryRow {
  Id: string;
  ParentId: string;
  parent: SObjectName;
  Field: string;
  OldValue: SfValue;
  NewValue: SfValue;
  CreatedDate: string;
  CreatedById: string;
}

/** The history object of each sObject and the field naming its record. */
export const HISTORY_OBJECTS: Record<SObjectName, { name: string; parentField: string }> = {
  Account: { name: 'AccountHistory', parentField: 'AccountId' },
  Contact: { name: 'ContactHistory', parentField: 'ContactId' },
  Opportunity: { name: 'OpportunityFieldHistory', parentField: 'OpportunityId' },
};

/** Who saves: the integration user (REST API calls) or a person in the org (direct edits). */
export const API_USER_ID = '005SB000000000AAAA';
export const UI_USER_ID = '005SB000000000BAAA';

/** A committed create or update, as a workflow rule or record-triggered Flow would see it. */
export interface StoreChange {
  type: SObjectName;
  kind: 'create' | 'update';
  /** The record right after the write (a copy). */
  record: SfRecord;
}

export type WriteResult =
  | { ok: true; id: string; created: boolean; record: SfRecord }
  | { ok: false; id: string | undefined; errors: RecordError[] };

/** A request-level problem with a record's shape (unknown field, non-scalar value): 400 for the whole call. */
export class ShapeError extends Error {
  override name = 'ShapeError';
  readonly errorCode: 'INVALID_FIELD' | 'JSON_PARSER_ERROR';
  readonly fields: string[];
  constructor(errorCode: 'INVALID_FIELD' | 'JSON_PARSER_ERROR', message: string, fields: string[]) {
    super(message);
    this.errorCode = errorCode;
    this.fields = fields;
  }
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;
const NUMBER = /^\s*-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*$/;

function jsonToken(value: unknown): string {
  return typeof value === 'string'
    ? 'VALUE_STRING'
    : typeof value === 'number'
      ? 'VALUE_NUMBER'
      : 'VALUE_TRUE';
}

/** Converts one JSON value to the field's type the way Salesforce's JSON parser does; throws ShapeError. */
function coerce(field: FieldDef, value: string | number | boolean): SfValue {
  const bad = () =>
    new ShapeError(
      'JSON_PARSER_ERROR',
      `Cannot deserialize instance of ${field.type} from ${jsonToken(value)} value ${String(value)} or request may be missing a required field`,
      [field.name],
    );
  switch (field.type) {
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
      throw bad();
    case 'currency':
    case 'double':
      if (typeof value === 'number') {
        if (!Number.isFinite(value)) throw bad();
        return value;
      }
      if (typeof value === 'string') {
        if (value.trim() === '') return null;
        if (NUMBER.test(value)) return Number(value);
      }
      throw bad();
    case 'date': {
      if (typeof value !== 'string') throw bad();
      if (value === '') return null;
      // A dateTime string is accepted for a date field and cut to its date [GUESS].
      const day = parseDate(value) ?? (parseDateTime(value) === undefined ? undefined : value.slice(0, 10));
      if (day === undefined) throw bad();
      return day;
    }
    case 'datetime': {
      if (typeof value !== 'string') throw bad();
      if (value === '') return null;
      const ms = parseDateTime(value);
      if (ms === undefined) throw bad();
      return formatDateTime(ms);
    }
    default:
      return typeof value === 'string' ? value : String(value);
  }
}
/** Keys jsforce or callers may leave in a body that are not fields. */
const IGNORED_KEYS = new Set(['attributes']);

function err(statusCode: string, message: string, fields: string[] = []): RecordError {
  return { statusCode, message, fields };
}

function emptyState(): State {
  return {
    records: { Account: new Map(), Contact: new Map(), Opportunity: new Map() },
    counters: { Account: 0, Contact: 0, Opportunity: 0 },
    history: [],
  };
}

export class SalesforceStore {
  private state: State = emptyState();
  private readonly now: () => number;
  /** This org's objects and fields, custom fields included. */
  readonly schema: OrgSchema;
  private readonly listeners: Array<(change: StoreChange) => void> = [];
  /** Changes held back inside atomically() until it commits. */
  private held: StoreChange[] | undefined;

  constructor(now: () => number, schema: OrgSchema = new OrgSchema()) {
    this.now = now;
    this.schema = schema;
  }

  /**
   * Checks field names and value types and returns canonical names with values as strings or
   * null. Throws ShapeError, which the API reports as a 400 for the whole request.
   */
  normalize(object: ObjectDef, input: Readonly<Record<string, unknown>>): FieldValues {
    const out: FieldValues = new Map();
    for (const [key, value] of Object.entries(input)) {
      if (IGNORED_KEYS.has(key)) continue;
      const field = resolveField(object, key);
      if (field === undefined)
        throw new ShapeError('INVALID_FIELD', `No such column '${key}' on sobject of type ${object.name}`, [
          key,
        ]);
      // A checkbox cannot be null: Salesforce stores false.
      if (value === null || value === undefined) out.set(field, field.type === 'boolean' ? false : null);
      else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
        out.set(field, coerce(field, value));
      else
        throw new ShapeError(
          'JSON_PARSER_ERROR',
          `Cannot deserialize instance of ${field.type} from ${Array.isArray(value) ? 'START_ARRAY' : 'START_OBJECT'} value for field ${field.name}`,
          [field.name],
        );
    }
    return out;
  }

  /** Calls `listener` after every committed create and update (not deletes, merges or seeding). */
  onChange(listener: (change: StoreChange) => void): void {
    this.listeners.push(listener);
  }

  private emit(type: SObjectName, kind: StoreChange['kind'], record: SfRecord): void {
    const change: StoreChange = { type, kind, record: { ...record } };
    if (this.held !== undefined) this.held.push(change);
    else for (const listener of this.listeners) listener(change);
  }

  /** Field history rows for the fields an update changed (every field is tracked in this org). */
  private track(type: SObjectName, before: SfRecord, after: SfRecord, stamp: string, by: string): void {
    for (const [field, value] of Object.entries(after)) {
      if (field === 'Id' || field.endsWith('Date') || field === 'SystemModstamp' || field === 'IsDeleted')
        continue;
      const old = before[field] ?? null;
      if (old === value) continue;
      const n = this.state.history.length + 1;
      this.state.history.push({
        Id: makeId('017', n),
        ParentId: after.Id,
        parent: type,
        Field: field,
        OldValue: old,
        NewValue: value,
        CreatedDate: stamp,
        CreatedById: by,
      });
    }
  }

  /** `<Object>History` rows of one object, oldest first (the SOQL evaluator sorts and filters them). */
  historyRows(parent: SObjectName): Record<string, SfValue>[] {
    const parentField = HISTORY_OBJECTS[parent].parentField;
    return this.state.history
      .filter((h) => h.parent === parent)
      .map((h) => ({
        Id: h.Id,
        [parentField]: h.ParentId,
        Field: h.Field,
        OldValue: h.OldValue,
        NewValue: h.NewValue,
        CreatedDate: h.CreatedDate,
        CreatedById: h.CreatedById,
        IsDeleted: false,
      }));
  }

  private stamp(): string {
    return formatDateTime(floorSecond(this.now()));
  }

  private table(type: SObjectName): Map<string, Stored> {
    return this.state.records[type];
  }

  /** Validates and applies values onto `base`; returns errors instead when the org would reject them. */
  private apply(
    object: ObjectDef,
    base: SfRecord,
    values: FieldValues,
    mode: 'insert' | 'update',
  ): { record: SfRecord } | { errors: RecordError[] } {
    const errors: RecordError[] = [];
    const next: SfRecord = { ...base };
    const readOnly = [...values.keys()].filter((f) => (mode === 'insert' ? !f.createable : !f.updateable));
    // Id in an update body is the record's own id; anything else is a read-only field.
    const rejected = readOnly.filter(
      (f) => !(f.name === 'Id' && mode === 'update' && values.get(f) === base.Id),
    );
    if (rejected.length > 0) {
      if (mode === 'insert' && rejected.some((f) => f.name === 'Id'))
        errors.push(err('INVALID_FIELD_FOR_INSERT_UPDATE', 'cannot specify Id in an insert call', ['Id']));
      const others = rejected.filter((f) => f.name !== 'Id' || mode === 'update').map((f) => f.name);
      if (others.length > 0)
        errors.push(
          err(
            'INVALID_FIELD_FOR_INSERT_UPDATE',
            `Unable to create/update fields: ${others.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
            others,
          ),
        );
    }
    for (const [field, raw] of values) {
      if (!rejected.includes(field) && field.name !== 'Id') {
        // Salesforce stores an empty text value as null; e-mail addresses are trimmed.
        const trimmed = field.type === 'email' && typeof raw === 'string' ? raw.trim() : raw;
        next[field.name] = trimmed === '' ? null : trimmed;
      }
    }

    const missing = object.fields.filter(
      (f) => f.createable && !f.nillable && (next[f.name] ?? null) === null,
    );
    if (missing.length > 0)
      errors.push(
        err(
          'REQUIRED_FIELD_MISSING',
          `Required fields are missing: [${missing.map((f) => f.name).join(', ')}]`,
          missing.map((f) => f.name),
        ),
      );

    for (const field of values.keys()) {
      const value = next[field.name];
      if (typeof value !== 'string' || rejected.includes(field)) continue;
      if (field.length > 0 && value.length > field.length && field.type !== 'reference')
        errors.push(
          err(
            'STRING_TOO_LONG',
            `${field.label}: data value too large: ${value.slice(0, 40)} (max length=${field.length})`,
            [field.name],
          ),
        );
      if (
        field.type === 'picklist' &&
        field.restrictedPicklist === true &&
        !(field.picklistValues ?? []).includes(value)
      )
        errors.push(
          err(
            'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
            `${field.label}: bad value for restricted picklist field: ${value}`,
            [field.name],
          ),
        );
      if (field.type === 'email' && !EMAIL.test(value))
        errors.push(
          err('INVALID_EMAIL_ADDRESS', `${field.label}: invalid email address: ${value}`, [field.name]),
        );
      if (field.type === 'reference' && field.referenceTo !== undefined) {
        const problem = this.checkReference(field, field.referenceTo, value);
        if (typeof problem === 'string') next[field.name] = problem;
        else errors.push(problem);
      }
      if (field.unique) {
        const clash = this.findByExternalId(object.name, field, value);
        if (clash !== undefined && clash.Id !== base.Id)
          errors.push(
            err(
              'DUPLICATE_VALUE',
              `duplicate value found: ${field.name} duplicates value on record with id: ${clash.Id}`,
              [field.name],
            ),
          );
      }
    }
    return errors.length > 0 ? { errors } : { record: next };
  }

  /** Returns the normalised 18-character id, or the error Salesforce gives for a bad lookup. */
  private checkReference(field: FieldDef, target: SObjectName, value: string): string | RecordError {
    const id = to18(value);
    if (id === undefined)
      return err('MALFORMED_ID', `${field.label}: id value of incorrect type: ${value}`, [field.name]);
    if (objectForId(id)?.name !== target)
      return err('FIELD_INTEGRITY_EXCEPTION', `${field.label}: id value of incorrect type: ${value}`, [
        field.name,
      ]);
    const stored = this.table(target).get(id);
    if (stored === undefined || stored.deletedAt !== undefined)
      return err('INVALID_CROSS_REFERENCE_KEY', `invalid cross reference id`, [field.name]);
    return id;
  }

  findByExternalId(type: SObjectName, field: FieldDef, value: string): SfRecord | undefined {
    // Unique external ids are case-insensitive (the Salesforce default for unique text fields).
    const lower = value.toLowerCase();
    for (const { record, deletedAt } of this.table(type).values()) {
      const v = record[field.name];
      if (deletedAt === undefined && typeof v === 'string' && v.toLowerCase() === lower) return record;
    }
    return undefined;
  }

  create(type: SObjectName, values: FieldValues): WriteResult {
    const result = this.insert(type, values);
    if (result.ok) this.emit(type, 'create', result.record);
    return result;
  }

  private insert(type: SObjectName, values: FieldValues): WriteResult {
    const object = this.schema.object(type);
    const stamp = this.stamp();
    const blank: SfRecord = { Id: '' };
    for (const f of object.fields) blank[f.name] = f.type === 'boolean' ? false : null;
    const applied = this.apply(object, blank, values, 'insert');
    if ('errors' in applied) return { ok: false, id: undefined, errors: applied.errors };
    const counter = this.state.counters[type] + 1;
    this.state.counters[type] = counter;
    const id = makeId(object.keyPrefix, counter);
    const record: SfRecord = {
      ...applied.record,
      Id: id,
      IsDeleted: false,
      CreatedDate: stamp,
      LastModifiedDate: stamp,
      SystemModstamp: stamp,
    };
    this.table(type).set(id, { record, deletedAt: undefined });
    return { ok: true, id, created: true, record: { ...record } };
  }

  /** Looks up a live record; returns the error Salesforce gives for a missing or deleted one. */
  private live(
    type: SObjectName | undefined,
    rawId: string,
  ): { type: SObjectName; stored: Stored } | RecordError {
    const id = to18(rawId);
    if (id === undefined) return err('MALFORMED_ID', `malformed id ${rawId}`, ['Id']);
    const object = objectForId(id);
    if (object === undefined || (type !== undefined && object.name !== type))
      return err('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', []);
    const stored = this.table(object.name).get(id);
    if (stored === undefined) return err('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', []);
    if (stored.deletedAt !== undefined) return err('ENTITY_IS_DELETED', 'entity is deleted', []);
    return { type: object.name, stored };
  }

  update(
    type: SObjectName | undefined,
    rawId: string,
    values: FieldValues,
    by: string = UI_USER_ID,
  ): WriteResult {
    const found = this.live(type, rawId);
    if ('statusCode' in found) return { ok: false, id: rawId, errors: [found] };
    const object = this.schema.object(found.type);
    const applied = this.apply(object, found.stored.record, values, 'update');
    if ('errors' in applied) return { ok: false, id: found.stored.record.Id, errors: applied.errors };
    const stamp = this.stamp();
    this.track(found.type, found.stored.record, applied.record, stamp, by);
    const record: SfRecord = { ...applied.record, LastModifiedDate: stamp, SystemModstamp: stamp };
    this.table(found.type).set(record.Id, { record, deletedAt: undefined });
    this.emit(found.type, 'update', record);
    return { ok: true, id: record.Id, created: false, record: { ...record } };
  }

  /**
   * A change nobody hears of (a restore from backup, a value the org altered on its own): the values
   * are set without a new LastModifiedDate/SystemModstamp (or with `modifiedAt`, e.g. an old one) and
   * without an Outbound Message, so neither polling nor push can see it. Reconciliation can.
   */
  silentUpdate(type: SObjectName, rawId: string, values: FieldValues, modifiedAt?: number): WriteResult {
    const found = this.live(type, rawId);
    if ('statusCode' in found) return { ok: false, id: rawId, errors: [found] };
    const applied = this.apply(this.schema.object(found.type), found.stored.record, values, 'update');
    if ('errors' in applied) return { ok: false, id: found.stored.record.Id, errors: applied.errors };
    const stamp = modifiedAt === undefined ? undefined : formatDateTime(floorSecond(modifiedAt));
    const record: SfRecord =
      stamp === undefined
        ? applied.record
        : { ...applied.record, LastModifiedDate: stamp, SystemModstamp: stamp };
    this.table(found.type).set(record.Id, { record, deletedAt: undefined });
    return { ok: true, id: record.Id, created: false, record: { ...record } };
  }

  /** A hard delete (the recycle bin emptied): gone from queries, queryAll and retrieve, with no trace. */
  purge(type: SObjectName, rawId: string): boolean {
    const id = to18(rawId);
    return id !== undefined && this.table(type).delete(id);
  }

  /** Upsert on an external-id field: update the one match, or create with the external id set. */
  upsert(
    type: SObjectName,
    field: FieldDef,
    extValue: string,
    values: FieldValues,
    by: string = UI_USER_ID,
  ): WriteResult {
    const existing = this.findByExternalId(type, field, extValue);
    if (existing !== undefined) return this.update(type, existing.Id, values, by);
    const withExt = new Map(values);
    withExt.set(field, extValue);
    return this.create(type, withExt);
  }

  /**
   * Moves a record to the recycle bin. Deleting an Account also deletes its Contacts and
   * Opportunities, as Salesforce does; deleting a Contact clears Opportunity.ContactId (its
   * contact role goes with it) [GUESS: SystemModstamp of those opportunities is bumped].
   */
  delete(type: SObjectName | undefined, rawId: string): WriteResult {
    const found = this.live(type, rawId);
    if ('statusCode' in found) return { ok: false, id: rawId, errors: [found] };
    const now = this.now();
    const stamp = formatDateTime(now);
    const bin = (t: SObjectName, stored: Stored) => {
      const record: SfRecord = { ...stored.record, IsDeleted: true, SystemModstamp: stamp };
      this.table(t).set(record.Id, { record, deletedAt: floorSecond(now) });
    };
    bin(found.type, found.stored);
    const deletedContacts = new Set<string>();
    if (found.type === 'Contact') deletedContacts.add(found.stored.record.Id);
    if (found.type === 'Account') {
      for (const stored of this.table('Contact').values())
        if (stored.deletedAt === undefined && stored.record.AccountId === found.stored.record.Id) {
          bin('Contact', stored);
          deletedContacts.add(stored.record.Id);
        }
      for (const stored of this.table('Opportunity').values())
        if (stored.deletedAt === undefined && stored.record.AccountId === found.stored.record.Id)
          bin('Opportunity', stored);
    }
    for (const stored of this.table('Opportunity').values()) {
      const contactId = stored.record.ContactId;
      if (stored.deletedAt === undefined && typeof contactId === 'string' && deletedContacts.has(contactId))
        this.table('Opportunity').set(stored.record.Id, {
          record: { ...stored.record, ContactId: null, SystemModstamp: stamp },
          deletedAt: undefined,
        });
    }
    const record = this.table(found.type).get(found.stored.record.Id)?.record ?? found.stored.record;
    return { ok: true, id: record.Id, created: false, record: { ...record } };
  }

  /** A copy of a live record, or undefined. */
  get(type: SObjectName, rawId: string): SfRecord | undefined {
    const id = to18(rawId);
    const stored = id === undefined ? undefined : this.table(type).get(id);
    return stored === undefined || stored.deletedAt !== undefined ? undefined : { ...stored.record };
  }

  /** Live or deleted: for GET by id, which tells the two apart. */
  lookup(type: SObjectName, rawId: string): { record: SfRecord; deleted: boolean } | undefined {
    const id = to18(rawId);
    const stored = id === undefined ? undefined : this.table(type).get(id);
    return stored === undefined
      ? undefined
      : { record: stored.record, deleted: stored.deletedAt !== undefined };
  }

  /** Records in creation (Id) order; the live ones unless `includeDeleted`. Not copies: treat as read-only. */
  rows(type: SObjectName, includeDeleted = false): SfRecord[] {
    const out: SfRecord[] = [];
    for (const { record, deletedAt } of this.table(type).values())
      if (includeDeleted || deletedAt === undefined) out.push(record);
    return out;
  }

  /** Recycle-bin entries with their deletion time (ms). */
  deletedSince(type: SObjectName): Array<{ id: string; deletedAt: number }> {
    const out: Array<{ id: string; deletedAt: number }> = [];
    for (const { record, deletedAt } of this.table(type).values())
      if (deletedAt !== undefined) out.push({ id: record.Id, deletedAt });
    return out;
  }

  /**
   * Merges up to two losers into the master, as the SOAP/Apex merge() does: optional `masterValues`
   * are written to the master first; children of the losers (Contacts and Opportunities of an
   * Account, Opportunities of a Contact) are re-parented to the master; the losers go to the
   * recycle bin with MasterRecordId set; the master's LastModifiedDate/SystemModstamp are bumped.
   */
  merge(
    type: MergeableSObject,
    masterId: string,
    loserIds: readonly string[],
    masterValues: FieldValues = new Map(),
  ): WriteResult {
    const fail = (statusCode: string, message: string): WriteResult => ({
      ok: false,
      id: masterId,
      errors: [err(statusCode, message)],
    });
    if (loserIds.length === 0)
      return fail(
        'INVALID_ARGUMENT',
        'A single merge request must contain at least one record to merge, got none',
      );
    if (loserIds.length > 2)
      return fail('LIMIT_EXCEEDED', 'A single merge request is limited to 3 records, including the master');
    const master = this.live(type, masterId);
    if ('statusCode' in master) return { ok: false, id: masterId, errors: [master] };
    const losers: Stored[] = [];
    for (const rawId of loserIds) {
      const loser = this.live(type, rawId);
      if ('statusCode' in loser) return { ok: false, id: rawId, errors: [loser] };
      if (loser.stored.record.Id === master.stored.record.Id)
        return fail('INVALID_ID_FIELD', 'Cannot merge a record with itself');
      losers.push(loser.stored);
    }
    const applied = this.apply(this.schema.object(type), master.stored.record, masterValues, 'update');
    if ('errors' in applied) return { ok: false, id: master.stored.record.Id, errors: applied.errors };

    const now = this.now();
    const stamp = formatDateTime(now);
    const masterRecordId = master.stored.record.Id;
    const loserSet = new Set(losers.map((l) => l.record.Id));
    const reparent = (child: SObjectName, field: string) => {
      for (const stored of this.table(child).values()) {
        const parent = stored.record[field];
        if (stored.deletedAt === undefined && typeof parent === 'string' && loserSet.has(parent))
          // Replace, never mutate, a Stored entry: atomically() snapshots shallow copies of the maps.
          this.table(child).set(stored.record.Id, {
            record: {
              ...stored.record,
              [field]: masterRecordId,
              LastModifiedDate: stamp,
              SystemModstamp: stamp,
            },
            deletedAt: undefined,
          });
      }
    };
    if (type === 'Account') {
      reparent('Contact', 'AccountId');
      reparent('Opportunity', 'AccountId');
    } else reparent('Opportunity', 'ContactId');
    for (const loser of losers) {
      const record: SfRecord = {
        ...loser.record,
        IsDeleted: true,
        MasterRecordId: masterRecordId,
        SystemModstamp: stamp,
      };
      this.table(type).set(record.Id, { record, deletedAt: floorSecond(now) });
    }
    const record: SfRecord = { ...applied.record, LastModifiedDate: stamp, SystemModstamp: stamp };
    this.table(type).set(record.Id, { record, deletedAt: undefined });
    return { ok: true, id: record.Id, created: false, record: { ...record } };
  }

  /** Inserts a record with given audit timestamps (seeding only). */
  seed(type: SObjectName, fields: Record<string, SfValue>, modifiedAt: number, createdAt: number): SfRecord {
    const result = this.insert(type, this.normalize(this.schema.object(type), fields));
    if (!result.ok) throw new Error(`seed record rejected: ${JSON.stringify(result.errors)}`);
    const record: SfRecord = {
      ...result.record,
      CreatedDate: formatDateTime(createdAt),
      LastModifiedDate: formatDateTime(modifiedAt),
      SystemModstamp: formatDateTime(modifiedAt),
    };
    this.table(type).set(record.Id, { record, deletedAt: undefined });
    return record;
  }

  /** Runs `fn`; if it returns false every change it made is undone (allOrNone) and nobody hears of it. */
  atomically(fn: () => boolean): boolean {
    const outer = this.held === undefined;
    const held = this.held ?? [];
    const mark = held.length;
    this.held = held;
    const saved: State = {
      records: {
        Account: new Map(this.state.records.Account),
        Contact: new Map(this.state.records.Contact),
        Opportunity: new Map(this.state.records.Opportunity),
      },
      counters: { ...this.state.counters },
      history: [...this.state.history],
    };
    let commit = false;
    try {
      commit = fn();
    } finally {
      if (!commit) {
        this.state = saved;
        held.length = mark;
      }
      if (outer) {
        this.held = undefined;
        for (const change of held) for (const listener of this.listeners) listener(change);
      }
    }
    return commit;
  }
}
