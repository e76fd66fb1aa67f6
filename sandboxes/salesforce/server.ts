// HTTP front of the sandbox org: the Salesforce REST routes jsforce calls, plus an
// unauthenticated admin API under /__sandbox for other processes (demo, scripts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultSwitch } from '../faults.ts';
import { BodyTooLargeError, type CallStats, readBody, sendJson, WindowLimiter } from '../http.ts';
import { notFound, type RecordError, SfApiError } from './errors.ts';
import { floorMinute, formatDateTime, parseDateTime } from './format.ts';
import {
  CUSTOM_FIELD_TYPES,
  type CustomFieldSpec,
  describeGlobalEntry,
  describeObject,
  type ObjectDef,
  resolveField,
  SchemaError,
  SOBJECT_NAMES,
} from './schema.ts';
import { runSoql, SoqlError } from './soql.ts';
import {
  API_USER_ID,
  HISTORY_OBJECTS,
  type SalesforceStore,
  type SfRecord,
  ShapeError,
  type WriteResult,
} from './store.ts';

const DAY = 86_400_000;
/** sObject Collections create/update/upsert/delete accept at most 200 records ("sObject Collections"). */
export const COLLECTION_LIMIT = 200;
/** sObject Collections retrieve (POST) accepts at most 2,000 ids. */
export const RETRIEVE_LIMIT = 2000;
/** Query cursors expire after 15 minutes without use ("Query" resource). */
const CURSOR_IDLE_MS = 15 * 60_000;
/** Open cursors kept per org; the oldest is dropped beyond this. */
const MAX_CURSORS = 50;

export interface ServerConfig {
  store: SalesforceStore;
  stats: CallStats;
  now: () => number;
  pageSize: number;
  dailyLimit: number;
  /** Access tokens currently accepted. */
  tokens: Set<string>;
  refreshToken: string;
  /** Issues and registers a new access token (refresh grant). */
  issueToken: () => string;
  /** The server's own base URL, known once it listens. */
  baseUrl: () => string;
  /** Injected faults; the options can change while the server runs. */
  faults: FaultSwitch<SalesforceFaultOptions>;
}

/** Fault injection on API routes. Salesforce answers overload with 503 SERVER_UNAVAILABLE; its REST API
 * has no 429 (REST API Developer Guide, "Status Codes and Error Responses"). */
export interface SalesforceFaultOptions {
  seed?: number;
  /** Share of API calls answered 503 SERVER_UNAVAILABLE. */
  rate5xx?: number;
  /** Every API call waits this long. */
  latencyMs?: number;
  /** The long tail: this share of API calls waits `slowMs` more (counted as 'slow'). */
  slowRate?: number;
  slowMs?: number;
}

interface Ctx {
  store: SalesforceStore;
  method: string;
  version: string;
  params: Map<string, string>;
  query: URLSearchParams;
  req: IncomingMessage;
}

interface Reply {
  status: number;
  body?: unknown;
}

interface Route {
  method: string;
  pattern: string[];
  key: string;
  handle: (ctx: Ctx) => Reply | Promise<Reply>;
}

type QueryRecord = Record<string, unknown>;

interface Cursor {
  records: QueryRecord[];
  size: number;
  touchedAt: number;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function param(ctx: Ctx, name: string): string {
  const value = ctx.params.get(name);
  if (value === undefined) throw new Error(`route parameter ${name} missing`);
  return value;
}

function objectParam(ctx: Ctx): ObjectDef {
  const object = ctx.store.schema.resolve(param(ctx, 'type'));
  if (object === undefined) throw notFound();
  return object;
}

async function jsonBody(req: IncomingMessage): Promise<unknown> {
  let text: string;
  try {
    text = await readBody(req);
  } catch (e) {
    if (e instanceof BodyTooLargeError) throw new SfApiError(413, 'REQUEST_ENTITY_TOO_LARGE', e.message);
    throw e;
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new SfApiError(
      400,
      'JSON_PARSER_ERROR',
      `Unexpected character in request body: ${text.slice(0, 40)}`,
    );
  }
}

/** The admin API's body for a new custom field. */
function customFieldSpec(body: Record<string, unknown>): CustomFieldSpec {
  const type = CUSTOM_FIELD_TYPES.find((t) => t === body.type);
  const bool = (key: string) => (typeof body[key] === 'boolean' ? body[key] : undefined);
  if (typeof body.name !== 'string' || type === undefined)
    throw new SfApiError(400, 'INVALID_TYPE', `Unsupported custom field type: ${String(body.type)}`);
  const spec: CustomFieldSpec = { name: body.name, type };
  if (typeof body.label === 'string') spec.label = body.label;
  if (typeof body.length === 'number') spec.length = body.length;
  if (isStringArray(body.picklistValues)) spec.picklistValues = body.picklistValues;
  const restricted = bool('restricted');
  if (restricted !== undefined) spec.restricted = restricted;
  const required = bool('required');
  if (required !== undefined) spec.required = required;
  const externalId = bool('externalId');
  if (externalId !== undefined) spec.externalId = externalId;
  const unique = bool('unique');
  if (unique !== undefined) spec.unique = unique;
  return spec;
}

function recordUrl(version: string, type: string, id: string): string {
  return `/services/data/v${version}/sobjects/${type}/${id}`;
}

/** A record as the REST API returns it: `attributes` first, then the fields asked for. */
export function present(
  version: string,
  type: string,
  record: Readonly<Record<string, unknown>>,
  fields: readonly string[],
): QueryRecord {
  const id = String(record.Id);
  const out: QueryRecord = { attributes: { type, url: recordUrl(version, type, id) } };
  for (const f of fields) out[f] = record[f] ?? null;
  return out;
}

/** Field history objects, queryable only (every field is tracked in this org). */
const HISTORY_SCHEMAS = SOBJECT_NAMES.map((o) => ({
  name: HISTORY_OBJECTS[o].name,
  fields: [
    { name: 'Id', kind: 'id' as const },
    { name: HISTORY_OBJECTS[o].parentField, kind: 'id' as const },
    { name: 'Field', kind: 'text' as const },
    { name: 'OldValue', kind: 'text' as const },
    { name: 'NewValue', kind: 'text' as const },
    { name: 'CreatedDate', kind: 'datetime' as const },
    { name: 'CreatedById', kind: 'id' as const },
    { name: 'IsDeleted', kind: 'boolean' as const },
  ],
}));

function allFields(object: ObjectDef): string[] {
  return object.fields.map((f) => f.name);
}

function requestErrors(errors: RecordError[], status = 400): SfApiError {
  const first = errors[0];
  return new SfApiError(
    status,
    first?.statusCode ?? 'UNKNOWN_EXCEPTION',
    first?.message ?? 'write rejected',
    first?.fields ?? [],
  );
}

function shapeToApi(e: unknown): unknown {
  return e instanceof ShapeError ? new SfApiError(400, e.errorCode, e.message, e.fields) : e;
}

const ROLLED_BACK: RecordError = {
  statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
  message: 'Record rolled back because not all records were valid and the request was using AllOrNone header',
  fields: [],
};

function saveResult(r: WriteResult, withId: boolean, withCreated: boolean): Record<string, unknown> {
  if (r.ok)
    return withCreated
      ? { id: r.id, success: true, errors: [], created: r.created }
      : { id: r.id, success: true, errors: [] };
  return withId && r.id !== undefined
    ? { id: r.id, success: false, errors: r.errors }
    : { success: false, errors: r.errors };
}

export function createHandler(config: ServerConfig): (req: IncomingMessage, res: ServerResponse) => void {
  const { store, stats, now } = config;
  const limiter = new WindowLimiter(config.dailyLimit, DAY, now);
  let used = 0;
  const cursors = new Map<string, Cursor>();
  let cursorCounter = 0;

  // ------------------------------------------------------------ query

  function openCursor(records: QueryRecord[], size: number): string {
    cursorCounter++;
    const id = `01gSB${cursorCounter.toString(36).toUpperCase().padStart(10, '0')}`;
    cursors.set(id, { records, size, touchedAt: now() });
    if (cursors.size > MAX_CURSORS) {
      const oldest = cursors.keys().next().value;
      if (oldest !== undefined) cursors.delete(oldest);
    }
    return id;
  }

  function page(
    version: string,
    cursorId: string | undefined,
    records: QueryRecord[],
    offset: number,
    size: number,
  ): Reply {
    const slice = records.slice(offset, offset + size);
    const next = offset + slice.length;
    const done = next >= records.length;
    const id = done ? undefined : (cursorId ?? openCursor(records, size));
    return {
      status: 200,
      body: {
        totalSize: records.length,
        done,
        ...(id === undefined ? {} : { nextRecordsUrl: `/services/data/v${version}/query/${id}-${next}` }),
        records: slice,
      },
    };
  }

  /** `Sforce-Query-Options: batchSize=N` (200..2000) can shrink the page; `pageSize` caps it. */
  function batchSize(req: IncomingMessage): number {
    const header = req.headers['sforce-query-options'];
    const m = typeof header === 'string' ? /batchSize=(\d+)/i.exec(header) : null;
    const requested = m ? Math.min(2000, Math.max(200, Number(m[1]))) : 2000;
    return Math.max(1, Math.min(config.pageSize, requested));
  }

  function query(ctx: Ctx, includeDeleted: boolean): Reply {
    const q = ctx.query.get('q');
    if (q === null || q.trim() === '')
      throw new SfApiError(400, 'MALFORMED_QUERY', 'A query string has to be specified');
    let result: ReturnType<typeof runSoql>;
    try {
      result = runSoql(q, [...store.schema.soql(), ...HISTORY_SCHEMAS], (name) => {
        const history = SOBJECT_NAMES.find(
          (o) => HISTORY_OBJECTS[o].name.toLowerCase() === name.toLowerCase(),
        );
        if (history !== undefined) return store.historyRows(history);
        const object = store.schema.resolve(name);
        return object === undefined ? [] : store.rows(object.name, includeDeleted);
      });
    } catch (e) {
      if (e instanceof SoqlError) throw new SfApiError(400, e.errorCode, e.message);
      throw e;
    }
    const { compiled, rows } = result;
    // Snapshot the projected rows now: later pages come from this copy, like a server-side cursor.
    const records = rows.map((row) => present(ctx.version, compiled.object, row, compiled.fields));
    return page(ctx.version, undefined, records, 0, batchSize(ctx.req));
  }

  function queryMore(ctx: Ctx): Reply {
    const locator = param(ctx, 'locator');
    const m = /^(\w+)-(\d+)$/.exec(locator);
    const cursor = m?.[1] === undefined ? undefined : cursors.get(m[1]);
    const offset = Number(m?.[2] ?? Number.NaN);
    if (
      m?.[1] === undefined ||
      cursor === undefined ||
      now() - cursor.touchedAt > CURSOR_IDLE_MS ||
      offset > cursor.records.length
    ) {
      if (m?.[1] !== undefined) cursors.delete(m[1]);
      throw new SfApiError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    }
    cursor.touchedAt = now();
    return page(ctx.version, m[1], cursor.records, offset, cursor.size);
  }

  // ------------------------------------------------------------ single records

  function liveRecord(object: ObjectDef, id: string): SfRecord {
    const found = store.lookup(object.name, id);
    if (found === undefined) throw notFound();
    if (found.deleted) throw new SfApiError(404, 'ENTITY_IS_DELETED', 'entity is deleted');
    return found.record;
  }

  function selectedFields(object: ObjectDef, names: readonly string[]): string[] {
    return names.map((name) => {
      const field = resolveField(object, name.trim());
      if (field === undefined)
        throw new SfApiError(
          400,
          'INVALID_FIELD',
          `No such column '${name}' on sobject of type ${object.name}`,
          [name],
        );
      return field.name;
    });
  }

  async function fieldsOf(ctx: Ctx, object: ObjectDef): Promise<ReturnType<SalesforceStore['normalize']>> {
    const body = await jsonBody(ctx.req);
    if (!isObject(body))
      throw new SfApiError(400, 'JSON_PARSER_ERROR', 'Expected a JSON object for the record');
    try {
      return store.normalize(object, body);
    } catch (e) {
      throw shapeToApi(e);
    }
  }

  // ------------------------------------------------------------ collections

  interface BatchItem {
    object: ObjectDef;
    values: ReturnType<SalesforceStore['normalize']>;
  }

  async function collectionBody(ctx: Ctx): Promise<{ allOrNone: boolean; items: BatchItem[] }> {
    const body = await jsonBody(ctx.req);
    if (!isObject(body) || !Array.isArray(body.records))
      throw new SfApiError(400, 'JSON_PARSER_ERROR', 'Expected {"allOrNone": boolean, "records": [...]}');
    if (body.records.length > COLLECTION_LIMIT)
      throw new SfApiError(
        400,
        'EXCEEDED_ID_LIMIT',
        `record limit reached. cannot submit more than ${COLLECTION_LIMIT} records into this call`,
      );
    const items = body.records.map((record: unknown, i: number): BatchItem => {
      const type = isObject(record) && isObject(record.attributes) ? record.attributes.type : undefined;
      if (!isObject(record) || typeof type !== 'string')
        throw new SfApiError(400, 'INVALID_TYPE', `records[${i}]: every record needs attributes.type`);
      const object = store.schema.resolve(type);
      if (object === undefined)
        throw new SfApiError(400, 'INVALID_TYPE', `sObject type '${type}' is not supported.`);
      try {
        return { object, values: store.normalize(object, record) };
      } catch (e) {
        throw shapeToApi(e);
      }
    });
    return { allOrNone: body.allOrNone === true, items };
  }

  /** Applies each item in order; with allOrNone one failure undoes them all. */
  function runBatch<T>(allOrNone: boolean, items: readonly T[], op: (item: T) => WriteResult): WriteResult[] {
    let results: WriteResult[] = [];
    const committed = store.atomically(() => {
      results = items.map(op);
      return !allOrNone || results.every((r) => r.ok);
    });
    if (committed) return results;
    return results.map((r) =>
      r.ok ? { ok: false, id: r.created ? undefined : r.id, errors: [ROLLED_BACK] } : r,
    );
  }

  function idField(object: ObjectDef) {
    const field = resolveField(object, 'Id');
    if (field === undefined) throw new Error(`${object.name} has no Id field`);
    return field;
  }

  function externalIdField(object: ObjectDef, name: string) {
    const field = resolveField(object, name);
    if (field === undefined || !field.externalId)
      throw notFound(`Provided external ID field does not exist or is not accessible: ${name}`);
    return field;
  }

  // ------------------------------------------------------------ replication

  function window(ctx: Ctx, maxDays: number): { start: number; end: number } {
    const startText = ctx.query.get('start');
    const endText = ctx.query.get('end');
    if (startText === null || endText === null)
      throw new SfApiError(400, 'MISSING_ARGUMENT', 'start and end must both be specified');
    const start = parseDateTime(startText);
    const end = parseDateTime(endText);
    if (start === undefined || end === undefined)
      throw new SfApiError(
        400,
        'INVALID_REPLICATION_DATE',
        `invalid date: ${start === undefined ? startText : endText}`,
      );
    // Seconds are truncated: the window has minute granularity.
    const s = floorMinute(start);
    const e = floorMinute(end);
    if (s >= e)
      throw new SfApiError(
        400,
        'INVALID_REPLICATION_DATE',
        'startDate must chronologically precede endDate by more than one minute',
      );
    if (s < floorMinute(now() - maxDays * DAY))
      throw new SfApiError(
        400,
        'INVALID_REPLICATION_DATE',
        `startDate cannot be more than ${maxDays} days ago`,
      );
    // Never cover the running minute: later writes in it must fall into the next window.
    return { start: s, end: Math.max(s, Math.min(e, floorMinute(now()))) };
  }

  // ------------------------------------------------------------ routes

  const routes: Route[] = [
    { method: 'GET', pattern: ['query'], key: 'GET query', handle: (ctx) => query(ctx, false) },
    { method: 'GET', pattern: ['queryAll'], key: 'GET queryAll', handle: (ctx) => query(ctx, true) },
    { method: 'GET', pattern: ['query', ':locator'], key: 'GET queryMore', handle: queryMore },
    { method: 'GET', pattern: ['queryAll', ':locator'], key: 'GET queryMore', handle: queryMore },
    {
      method: 'GET',
      pattern: ['limits'],
      key: 'GET limits',
      handle: () => ({
        status: 200,
        body: {
          DailyApiRequests: { Max: config.dailyLimit, Remaining: Math.max(0, config.dailyLimit - used) },
          DataStorageMB: { Max: 5, Remaining: 5 },
        },
      }),
    },
    {
      method: 'GET',
      pattern: ['sobjects'],
      key: 'GET sobjects',
      handle: (ctx) => ({
        status: 200,
        body: {
          encoding: 'UTF-8',
          maxBatchSize: COLLECTION_LIMIT,
          sobjects: store.schema.all().map((o) => describeGlobalEntry(o, ctx.version)),
        },
      }),
    },
    {
      method: 'GET',
      pattern: ['sobjects', ':type', 'describe'],
      key: 'GET sobjects/:type/describe',
      handle: (ctx) => ({ status: 200, body: describeObject(objectParam(ctx), ctx.version) }),
    },
    {
      method: 'GET',
      pattern: ['sobjects', ':type', 'updated'],
      key: 'GET sobjects/:type/updated',
      handle: (ctx) => {
        const object = objectParam(ctx);
        const { start, end } = window(ctx, 30);
        const ids = store
          .rows(object.name)
          .filter((r) => {
            const t = typeof r.SystemModstamp === 'string' ? parseDateTime(r.SystemModstamp) : undefined;
            return t !== undefined && t >= start && t < end;
          })
          .map((r) => r.Id);
        return { status: 200, body: { ids, latestDateCovered: formatDateTime(end) } };
      },
    },
    {
      method: 'GET',
      pattern: ['sobjects', ':type', 'deleted'],
      key: 'GET sobjects/:type/deleted',
      handle: (ctx) => {
        const object = objectParam(ctx);
        const { start, end } = window(ctx, 15);
        const deletedRecords = store
          .deletedSince(object.name)
          .filter((d) => d.deletedAt >= start && d.deletedAt < end)
          .map((d) => ({ id: d.id, deletedDate: formatDateTime(d.deletedAt) }));
        return {
          status: 200,
          body: {
            deletedRecords,
            earliestDateAvailable: formatDateTime(floorMinute(now() - 15 * DAY)),
            latestDateCovered: formatDateTime(end),
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: ['sobjects', ':type'],
      key: 'GET sobjects/:type',
      handle: (ctx) => {
        const object = objectParam(ctx);
        return {
          status: 200,
          body: { objectDescribe: describeGlobalEntry(object, ctx.version), recentItems: [] },
        };
      },
    },
    {
      method: 'POST',
      pattern: ['sobjects', ':type'],
      key: 'POST sobjects/:type',
      handle: async (ctx) => {
        const object = objectParam(ctx);
        const result = store.create(object.name, await fieldsOf(ctx, object));
        if (!result.ok) throw requestErrors(result.errors);
        return { status: 201, body: { id: result.id, success: true, errors: [] } };
      },
    },
    {
      method: 'GET',
      pattern: ['sobjects', ':type', ':id'],
      key: 'GET sobjects/:type/:id',
      handle: (ctx) => {
        const object = objectParam(ctx);
        const record = liveRecord(object, param(ctx, 'id'));
        const fields = ctx.query.get('fields');
        const names = fields === null ? allFields(object) : selectedFields(object, fields.split(','));
        return { status: 200, body: present(ctx.version, object.name, record, names) };
      },
    },
    {
      method: 'PATCH',
      pattern: ['sobjects', ':type', ':id'],
      key: 'PATCH sobjects/:type/:id',
      handle: async (ctx) => {
        const object = objectParam(ctx);
        const record = liveRecord(object, param(ctx, 'id'));
        const result = store.update(object.name, record.Id, await fieldsOf(ctx, object), API_USER_ID);
        if (!result.ok) throw requestErrors(result.errors);
        return { status: 204 };
      },
    },
    {
      method: 'DELETE',
      pattern: ['sobjects', ':type', ':id'],
      key: 'DELETE sobjects/:type/:id',
      handle: (ctx) => {
        const object = objectParam(ctx);
        const record = liveRecord(object, param(ctx, 'id'));
        const result = store.delete(object.name, record.Id);
        if (!result.ok) throw requestErrors(result.errors);
        return { status: 204 };
      },
    },
    {
      // jsforce does not encode the external id, so it may contain raw '/': `*value` takes the rest.
      method: 'PATCH',
      pattern: ['sobjects', ':type', ':field', '*value'],
      key: 'PATCH sobjects/:type/:extField/:extValue',
      handle: async (ctx) => {
        const object = objectParam(ctx);
        const field = externalIdField(object, param(ctx, 'field'));
        const value = param(ctx, 'value');
        const values = await fieldsOf(ctx, object);
        const inBody = values.get(field);
        if (inBody !== undefined && String(inBody) !== value)
          throw new SfApiError(400, 'INVALID_FIELD', `${field.name} in the body differs from the URL value`, [
            field.name,
          ]);
        const result = store.upsert(object.name, field, value, values, API_USER_ID);
        if (!result.ok) throw requestErrors(result.errors);
        return {
          status: result.created ? 201 : 200,
          body: { id: result.id, success: true, errors: [], created: result.created },
        };
      },
    },
    {
      method: 'POST',
      pattern: ['composite', 'sobjects'],
      key: 'POST composite/sobjects',
      handle: async (ctx) => {
        const { allOrNone, items } = await collectionBody(ctx);
        const results = runBatch(allOrNone, items, (item) => store.create(item.object.name, item.values));
        return { status: 200, body: results.map((r) => saveResult(r, false, false)) };
      },
    },
    {
      method: 'PATCH',
      pattern: ['composite', 'sobjects'],
      key: 'PATCH composite/sobjects',
      handle: async (ctx) => {
        const { allOrNone, items } = await collectionBody(ctx);
        const results = runBatch(allOrNone, items, (item): WriteResult => {
          const id = item.values.get(idField(item.object));
          if (typeof id !== 'string' || id === '')
            return {
              ok: false,
              id: undefined,
              errors: [
                { statusCode: 'MISSING_ARGUMENT', message: 'Id not specified in an update call', fields: [] },
              ],
            };
          return store.update(item.object.name, id, item.values, API_USER_ID);
        });
        return { status: 200, body: results.map((r) => saveResult(r, true, false)) };
      },
    },
    {
      method: 'DELETE',
      pattern: ['composite', 'sobjects'],
      key: 'DELETE composite/sobjects',
      handle: (ctx) => {
        const ids = (ctx.query.get('ids') ?? '').split(',').filter((id) => id !== '');
        if (ids.length === 0) throw new SfApiError(400, 'MISSING_ARGUMENT', 'ids must be specified');
        if (ids.length > COLLECTION_LIMIT)
          throw new SfApiError(
            400,
            'EXCEEDED_ID_LIMIT',
            `record limit reached. cannot submit more than ${COLLECTION_LIMIT} records into this call`,
          );
        const allOrNone = ctx.query.get('allOrNone') === 'true';
        const results = runBatch(allOrNone, ids, (id) => store.delete(undefined, id));
        return { status: 200, body: results.map((r) => saveResult(r, true, false)) };
      },
    },
    {
      method: 'POST',
      pattern: ['composite', 'sobjects', ':type'],
      key: 'POST composite/sobjects/:type',
      handle: async (ctx) => {
        const object = objectParam(ctx);
        const body = await jsonBody(ctx.req);
        if (!isObject(body) || !isStringArray(body.ids) || !isStringArray(body.fields))
          throw new SfApiError(400, 'JSON_PARSER_ERROR', 'Expected {"ids": [...], "fields": [...]}');
        if (body.ids.length > RETRIEVE_LIMIT)
          throw new SfApiError(
            400,
            'EXCEEDED_ID_LIMIT',
            `cannot retrieve more than ${RETRIEVE_LIMIT} records in one call`,
          );
        const fields = selectedFields(object, body.fields);
        const records = body.ids.map((id) => {
          const record = store.get(object.name, id);
          return record === undefined ? null : present(ctx.version, object.name, record, fields);
        });
        return { status: 200, body: records };
      },
    },
    {
      method: 'PATCH',
      pattern: ['composite', 'sobjects', ':type', ':field'],
      key: 'PATCH composite/sobjects/:type/:extField',
      handle: async (ctx) => {
        const object = objectParam(ctx);
        const field = externalIdField(object, param(ctx, 'field'));
        const { allOrNone, items } = await collectionBody(ctx);
        if (items.some((item) => item.object.name !== object.name))
          throw new SfApiError(400, 'INVALID_TYPE', `every record must be of type ${object.name}`);
        // The same external id twice in one request fails both records.
        const counts = new Map<string, number>();
        for (const item of items) {
          const v = item.values.get(field);
          if (typeof v === 'string') counts.set(v.toLowerCase(), (counts.get(v.toLowerCase()) ?? 0) + 1);
        }
        const results = runBatch(allOrNone, items, (item): WriteResult => {
          const raw = item.values.get(field);
          const value = raw === undefined || raw === null ? '' : String(raw);
          if (value === '')
            return {
              ok: false,
              id: undefined,
              errors: [
                {
                  statusCode: 'MISSING_ARGUMENT',
                  message: `${field.name} not specified`,
                  fields: [field.name],
                },
              ],
            };
          if ((counts.get(value.toLowerCase()) ?? 0) > 1)
            return {
              ok: false,
              id: undefined,
              errors: [
                {
                  statusCode: 'DUPLICATE_EXTERNAL_ID',
                  message: `Duplicate external id specified: ${value}`,
                  fields: [field.name],
                },
              ],
            };
          return store.upsert(object.name, field, value, item.values, API_USER_ID);
        });
        return { status: 200, body: results.map((r) => saveResult(r, false, true)) };
      },
    },
  ];

  function match(segments: string[]): { routes: Array<{ route: Route; params: Map<string, string> }> } {
    const found: Array<{ route: Route; params: Map<string, string> }> = [];
    for (const route of routes) {
      const params = new Map<string, string>();
      let ok = true;
      for (let i = 0; i < route.pattern.length && ok; i++) {
        const part = route.pattern[i] ?? '';
        const seg = segments[i];
        if (seg === undefined || seg === '') ok = false;
        else if (part.startsWith('*')) {
          params.set(part.slice(1), segments.slice(i).join('/'));
          i = segments.length;
        } else if (part.startsWith(':')) params.set(part.slice(1), seg);
        else ok = part === seg;
      }
      const consumedAll =
        route.pattern.some((p) => p.startsWith('*')) || route.pattern.length === segments.length;
      if (ok && consumedAll) found.push({ route, params });
    }
    return { routes: found };
  }

  // ------------------------------------------------------------ dispatch

  function limitHeader(): Record<string, string> {
    return { 'Sforce-Limit-Info': `api-usage=${used}/${config.dailyLimit}` };
  }

  async function api(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    version: string,
    rest: string,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    let segments: string[];
    try {
      segments = rest
        .split('/')
        .filter((s, i, all) => s !== '' || i < all.length - 1)
        .map((s) => decodeURIComponent(s));
    } catch {
      throw new SfApiError(400, 'MALFORMED_URL', 'malformed URL encoding');
    }
    const candidates = match(segments).routes;
    const hit = candidates.find((c) => c.route.method === method);
    stats.count(hit?.route.key ?? `${method} unknown`);

    const auth = req.headers.authorization ?? '';
    const token = /^(?:Bearer|OAuth)\s+(.+)$/i.exec(auth)?.[1];
    if (token === undefined || !config.tokens.has(token))
      throw new SfApiError(401, 'INVALID_SESSION_ID', 'Session expired or invalid');

    const faults = config.faults.options;
    if (faults !== undefined) {
      const dice = config.faults;
      const latencyMs = faults.latencyMs ?? 0;
      if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
      await dice.slowTail(faults.slowRate, faults.slowMs);
      const rate5xx = faults.rate5xx ?? 0;
      if (rate5xx > 0 && dice.rand() < rate5xx) {
        dice.count('5xx');
        throw new SfApiError(503, 'SERVER_UNAVAILABLE', 'Server temporarily unavailable (injected fault)');
      }
    }

    const remaining = limiter.take();
    used = remaining < 0 ? config.dailyLimit : config.dailyLimit - remaining;
    if (remaining < 0) throw new SfApiError(403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.');

    if (hit === undefined) {
      if (candidates.length > 0)
        throw new SfApiError(
          405,
          'METHOD_NOT_ALLOWED',
          `HTTP Method '${method}' not allowed. Allowed are ${candidates.map((c) => c.route.method).join(',')}`,
        );
      throw notFound();
    }
    const reply = await hit.route.handle({
      store,
      method,
      version,
      params: hit.params,
      query: url.searchParams,
      req,
    });
    sendJson(res, reply.status, reply.body, limitHeader());
  }

  async function token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    stats.count('POST oauth2/token');
    const form = new URLSearchParams(await readBody(req));
    // "OAuth 2.0 Refresh Token Flow": jsforce needs `id` and `instance_url` in the reply.
    if (form.get('grant_type') !== 'refresh_token') {
      sendJson(res, 400, { error: 'unsupported_grant_type', error_description: 'grant type not supported' });
      return;
    }
    if (form.get('refresh_token') !== config.refreshToken) {
      sendJson(res, 400, { error: 'invalid_grant', error_description: 'expired access/refresh token' });
      return;
    }
    const base = config.baseUrl();
    sendJson(res, 200, {
      access_token: config.issueToken(),
      instance_url: base,
      id: `${base}/id/00DSB0000000001AAA/005SB0000000001AAA`,
      token_type: 'Bearer',
      issued_at: String(now()),
      signature: 'sandbox',
      scope: 'api refresh_token',
    });
  }

  async function admin(req: IncomingMessage, res: ServerResponse, segments: string[]): Promise<void> {
    const method = req.method ?? 'GET';
    const object = segments[0] === undefined ? undefined : store.schema.resolve(segments[0]);
    const id = segments[1];
    if (object !== undefined && id !== undefined && segments.length === 3) {
      // Changes nobody hears of, for reconciliation: `PATCH .../:id/silent {fields, modifiedAt?}`
      // (timestamps kept, or set to modifiedAt) and `DELETE .../:id/purge` (a hard delete).
      const action = `${method} ${segments[2]}`;
      if (action === 'DELETE purge') {
        if (!store.purge(object.name, id)) throw notFound();
        sendJson(res, 204, undefined);
        return;
      }
      if (action !== 'PATCH silent') throw notFound();
      const parsed = await jsonBody(req);
      const modifiedAt = isObject(parsed) ? parsed.modifiedAt : undefined;
      if (
        !isObject(parsed) ||
        !isObject(parsed.fields) ||
        (modifiedAt !== undefined && (typeof modifiedAt !== 'string' || Number.isNaN(Date.parse(modifiedAt))))
      )
        throw new SfApiError(
          400,
          'JSON_PARSER_ERROR',
          'Expected {"fields": {...}, "modifiedAt"?: "<ISO date-time>"}',
        );
      let values: ReturnType<SalesforceStore['normalize']>;
      try {
        values = store.normalize(object, parsed.fields);
      } catch (e) {
        throw shapeToApi(e);
      }
      const at = typeof modifiedAt === 'string' ? Date.parse(modifiedAt) : undefined;
      const result = store.silentUpdate(object.name, id, values, at);
      if (!result.ok) throw requestErrors(result.errors);
      sendJson(res, 200, result.record);
      return;
    }
    if (object === undefined || segments.length > 2) throw notFound();
    if (id === 'merge' && method === 'POST') {
      // `POST /__sandbox/:object/merge {masterId, loserIds, masterFields?}`
      const parsed = await jsonBody(req);
      if (
        !isObject(parsed) ||
        typeof parsed.masterId !== 'string' ||
        !isStringArray(parsed.loserIds) ||
        (parsed.masterFields !== undefined && !isObject(parsed.masterFields))
      )
        throw new SfApiError(400, 'JSON_PARSER_ERROR', 'Expected {"masterId": "...", "loserIds": [...]}');
      if (object.name !== 'Account' && object.name !== 'Contact')
        throw new SfApiError(400, 'INVALID_TYPE', `${object.name} records cannot be merged`);
      let values: ReturnType<SalesforceStore['normalize']>;
      try {
        values = store.normalize(object, parsed.masterFields ?? {});
      } catch (e) {
        throw shapeToApi(e);
      }
      const result = store.merge(object.name, parsed.masterId, parsed.loserIds, values);
      if (!result.ok) throw requestErrors(result.errors);
      sendJson(res, 200, result.record);
      return;
    }
    if (id === 'fields' && method === 'POST') {
      // `POST /__sandbox/:object/fields <CustomFieldSpec>`
      const parsed = await jsonBody(req);
      if (!isObject(parsed) || typeof parsed.name !== 'string' || typeof parsed.type !== 'string')
        throw new SfApiError(400, 'JSON_PARSER_ERROR', 'Expected {"name": "X__c", "type": "string", ...}');
      try {
        store.schema.addField(object.name, customFieldSpec(parsed));
      } catch (e) {
        if (e instanceof SchemaError) throw new SfApiError(400, e.errorCode, e.message);
        throw e;
      }
      sendJson(res, 201, describeObject(store.schema.object(object.name), '62.0'));
      return;
    }
    const body = async () => {
      const parsed = await jsonBody(req);
      if (!isObject(parsed)) throw new SfApiError(400, 'JSON_PARSER_ERROR', 'Expected a JSON object');
      try {
        return store.normalize(object, parsed);
      } catch (e) {
        throw shapeToApi(e);
      }
    };
    const reply = (result: WriteResult, status: number) => {
      if (!result.ok) throw requestErrors(result.errors);
      sendJson(res, status, result.record);
    };
    if (id === undefined && method === 'GET') sendJson(res, 200, store.rows(object.name));
    else if (id === undefined && method === 'POST') reply(store.create(object.name, await body()), 201);
    else if (id !== undefined && method === 'GET') {
      const record = store.get(object.name, id);
      if (record === undefined) throw notFound();
      sendJson(res, 200, record);
    } else if (id !== undefined && method === 'PATCH') {
      liveRecord(object, id);
      reply(store.update(object.name, id, await body(), API_USER_ID), 200);
    } else if (id !== undefined && method === 'DELETE') {
      liveRecord(object, id);
      const result = store.delete(object.name, id);
      if (!result.ok) throw requestErrors(result.errors);
      sendJson(res, 204, undefined);
    } else throw new SfApiError(405, 'METHOD_NOT_ALLOWED', `HTTP Method '${method}' not allowed`);
  }

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
    const path = url.pathname;
    const versioned = /^\/services\/data\/v(\d+\.\d+)(?:\/(.*))?$/.exec(path);
    const run = async () => {
      if (path.startsWith('/__sandbox/'))
        return admin(
          req,
          res,
          path
            .slice('/__sandbox/'.length)
            .split('/')
            .filter((s) => s !== '')
            .map(decodeURIComponent),
        );
      if (path === '/services/oauth2/token' && req.method === 'POST') return token(req, res);
      if (versioned?.[1] !== undefined) return api(req, res, url, versioned[1], versioned[2] ?? '');
      throw notFound();
    };
    run().catch((e: unknown) => {
      const error =
        e instanceof SfApiError
          ? e
          : new SfApiError(500, 'UNKNOWN_EXCEPTION', e instanceof Error ? e.message : String(e));
      if (res.headersSent) {
        res.end();
        return;
      }
      sendJson(res, error.status, error.body(), versioned ? limitHeader() : {});
    });
  };
}
