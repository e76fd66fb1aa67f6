// Salesforce connector through jsforce: SOQL polling with a compound (SystemModstamp, Id)
// cursor, sObject Collections writes in chunks of 200, creates as upserts on an external id.
import { Connection } from 'jsforce';
import { z } from 'zod';
import type { SystemView } from '../../config/index.ts';
import type { ObjectType } from '../../engine/index.ts';
import { PacedCounter, type RateBudget, sharedBudget } from '../budget.ts';
import {
  AuthError,
  BadResponseError,
  ConnectorError,
  isNetworkError,
  parseResponse,
  RateLimitError,
} from '../errors.ts';
import { canonicalValue, replacedVersion } from '../mapping.ts';
import {
  type Connector,
  type Cursor,
  chunk,
  deleteOps,
  failAll,
  type NativeField,
  type PollPage,
  type ReplacedValues,
  type SourceChange,
  type WriteOp,
  type WriteOutcome,
} from '../types.ts';
import {
  FIELDSYNC_ID_FIELD,
  filterConditions,
  HISTORY_OBJECTS,
  objectView,
  parseSalesforceDate,
  SYSTEM,
  selectFields,
  soqlLiteral,
  toChange,
  toNative,
} from './mapping.ts';
import {
  queryResultSchema,
  type SalesforceRecord,
  salesforceRecordSchema,
  saveResultsSchema,
} from './types.ts';

export interface SalesforceConfig {
  instanceUrl: string;
  accessToken: string;
  apiVersion?: string;
  /** Re-read this much before the cursor on every poll: SystemModstamp is set at transaction start, so a
   * long transaction can commit a record stamped before the cursor after we read past it. */
  overlapMs?: number;
  /** OAuth refresh (reference A4.2): with a refresh token, jsforce answers 401 INVALID_SESSION_ID by
   * refreshing the access token and replaying the request once. `clientId` is then required. */
  refreshToken?: string;
  clientId?: string;
  clientSecret?: string;
  /** Where the token endpoint lives; default the instance URL (My Domain serves /services/oauth2/token). */
  loginUrl?: string;
  /** Called with each new access token, to persist it (Secrets Manager on AWS, the state dir locally). */
  onTokenRefreshed?: (accessToken: string) => void | Promise<void>;
  /** The rate budget to pace against; default: one per org (instance URL) in this process. */
  budget?: RateBudget;
}

/** sObject Collections accept at most 200 records per request (Salesforce REST API Developer Guide, "sObject Collections"). */
export const COLLECTION_LIMIT = 200;
/** Collections retrieve accepts up to 2,000 ids per POST. */
const RETRIEVE_LIMIT = 2000;
/** How far Salesforce's clock may be ahead of ours when finding our own field history row. */
const CLOCK_SKEW_MS = 2_000;
const historyRowSchema = z
  .object({
    Id: z.string(),
    Field: z.string(),
    NewValue: z.unknown().optional(),
    CreatedDate: z.string(),
    CreatedById: z.string().nullable().optional(),
  })
  .catchall(z.unknown());
/** Match-key values per search-before-create query (SOQL statements stay far below their 100,000 characters). */
const MATCH_QUERY_VALUES = 200;
const RETRYABLE_CODES = new Set([
  'UNABLE_TO_LOCK_ROW',
  'SERVER_UNAVAILABLE',
  'REQUEST_RUNNING_TOO_LONG',
  'QUERY_TIMEOUT',
]);

const cursorSchema = z.object({ ts: z.string(), id: z.string() });
const describeSchema = z.object({
  fields: z.array(
    z.object({
      name: z.string(),
      type: z.string(),
      unique: z.boolean().optional(),
      externalId: z.boolean().optional(),
      updateable: z.boolean().optional(),
      picklistValues: z.array(z.object({ value: z.string() })).optional(),
    }),
  ),
});

/** SOQL datetime literals are unquoted ISO-8601 without fractional seconds. */
export function soqlDateTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

function vendorCode(err: unknown): string {
  if (err instanceof Error) {
    const code = 'errorCode' in err && typeof err.errorCode === 'string' ? err.errorCode : err.name;
    return code;
  }
  return 'UNKNOWN';
}

/** Translate a jsforce error into a typed connector error. */
export function translateError(err: unknown): ConnectorError {
  if (err instanceof ConnectorError) return err;
  const code = vendorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'INVALID_SESSION_ID')
    return new AuthError(SYSTEM, code, message, { retryable: false, cause: err });
  // Salesforce signals an exhausted daily allocation with 403 REQUEST_LIMIT_EXCEEDED, not 429; no Retry-After.
  if (code === 'REQUEST_LIMIT_EXCEEDED')
    return new RateLimitError(SYSTEM, code, message, {
      retryable: true,
      retryAfterMs: 15 * 60_000,
      cause: err,
    });
  if (isNetworkError(err) || RETRYABLE_CODES.has(code) || /^ERROR_HTTP_5\d\d$/.test(code))
    return new ConnectorError(SYSTEM, code, message, { retryable: true, cause: err });
  return new ConnectorError(SYSTEM, code, message, { retryable: false, cause: err });
}

export class SalesforceConnector implements Connector {
  readonly system = SYSTEM;
  /** SystemModstamp has whole seconds (the API returns .000). */
  readonly modifiedTimeResolutionMs = 1000;
  private readonly conn: Connection;
  private readonly counter: PacedCounter;
  private readonly rateBudget: RateBudget;
  /** The `conn.limitInfo` last fed to the budget: jsforce replaces the object on every response with the header. */
  private seenLimitInfo: unknown;
  /** The current poll started from no cursor: its queries are backfill and leave a reserve for live work. */
  private backfilling = false;
  private readonly overlapMs: number;
  private readonly view: SystemView;

  /** `view`: what the config syncs in Salesforce (objects, fields, references, filters). */
  constructor(config: SalesforceConfig, view: SystemView) {
    this.view = view;
    const instanceUrl = config.instanceUrl.replace(/\/+$/, '');
    const refresh =
      config.refreshToken === undefined
        ? {}
        : {
            refreshToken: config.refreshToken,
            oauth2: {
              loginUrl: (config.loginUrl ?? instanceUrl).replace(/\/+$/, ''),
              ...(config.clientId !== undefined ? { clientId: config.clientId } : {}),
              ...(config.clientSecret !== undefined ? { clientSecret: config.clientSecret } : {}),
            },
          };
    this.conn = new Connection({
      instanceUrl,
      accessToken: config.accessToken,
      version: config.apiVersion ?? '62.0',
      ...refresh,
    });
    const onRefreshed = config.onTokenRefreshed;
    if (onRefreshed !== undefined) {
      this.conn.on('refresh', (accessToken: unknown) => {
        if (typeof accessToken !== 'string') return;
        // Persisting is best effort: the connection already holds the new token for this process.
        Promise.resolve()
          .then(() => onRefreshed(accessToken))
          .catch((err: unknown) =>
            console.error(
              `salesforce: could not persist the refreshed access token: ${err instanceof Error ? err.message : String(err)}`,
            ),
          );
      });
    }
    const budget = config.budget ?? sharedBudget(`${SYSTEM} ${instanceUrl}`);
    this.rateBudget = budget;
    this.counter = new PacedCounter(translateError, {
      system: SYSTEM,
      budget,
      priority: (kind) => (this.backfilling && kind === 'query' ? 'backfill' : 'live'),
      afterCall: () => this.observeLimitInfo(),
    });
    this.overlapMs = config.overlapMs ?? 60_000;
  }

  stats() {
    return this.counter.stats();
  }

  /** The org's rate budget (the daily API allocation), shared with other connectors of it here. */
  budget(): RateBudget {
    return this.rateBudget;
  }

  private observeLimitInfo(): void {
    const info = this.conn.limitInfo;
    if (info === this.seenLimitInfo) return;
    this.seenLimitInfo = info;
    if (info.apiUsage !== undefined) this.rateBudget.observeApiUsage(info.apiUsage);
  }

  /** API usage from the last response's Sforce-Limit-Info header. */
  apiUsage(): { used: number; limit: number } | undefined {
    return this.conn.limitInfo?.apiUsage;
  }

  private soql(object: ObjectType, cursor: Cursor | undefined): string {
    const o = objectView(this.view, object);
    const select = `SELECT ${selectFields(o, true).join(', ')} FROM ${o.native}`;
    const order = 'ORDER BY SystemModstamp ASC, Id ASC';
    const filters = filterConditions(o.filters);
    const where = (cursorCondition: string | undefined) => {
      const all = [
        ...(cursorCondition === undefined ? [] : [`(${cursorCondition})`]),
        ...filters.map((f) => `(${f})`),
      ];
      return all.length === 0 ? '' : ` WHERE ${all.join(' AND ')}`;
    };
    const parsed =
      cursor === undefined || Object.keys(cursor).length === 0 ? undefined : cursorSchema.safeParse(cursor);
    if (parsed === undefined) return `${select}${where(undefined)} ${order}`;
    if (!parsed.success)
      throw new ConnectorError(
        SYSTEM,
        'BAD_CURSOR',
        `stored cursor is malformed: ${JSON.stringify(cursor)}`,
        {
          retryable: false,
        },
      );
    const { ts, id } = parsed.data;
    if (this.overlapMs > 0)
      return `${select}${where(`SystemModstamp >= ${soqlDateTime(Date.parse(ts) - this.overlapMs)}`)} ${order}`;
    const at = soqlDateTime(Date.parse(ts));
    const after = `SystemModstamp > ${at} OR (SystemModstamp = ${at} AND Id > '${id.replace(/[\\']/g, '\\$&')}')`;
    return `${select}${where(after)} ${order}`;
  }

  async *poll(object: ObjectType, cursor: Cursor | undefined): AsyncGenerator<PollPage> {
    let current: Cursor | undefined = cursor;
    this.backfilling = cursor === undefined || Object.keys(cursor).length === 0;
    // queryAll: deleted rows (IsDeleted, MasterRecordId for merge losers) come with the changes.
    const o = objectView(this.view, object);
    for await (const parsed of this.queryPages(
      'query',
      `${o.native} query`,
      this.soql(object, cursor),
      true,
    )) {
      const records = parsed.records.map((r) =>
        parseResponse(SYSTEM, `${o.native} query row`, salesforceRecordSchema, r),
      );
      const readAt = Date.now();
      const changes = records.map((r) => ({ ...toChange(object, o, r, this.view), readAt }));
      this.counter.recordsRead += changes.length;
      const last = records.at(-1);
      if (last !== undefined)
        current = { ts: new Date(changes.at(-1)?.modifiedAt ?? 0).toISOString(), id: last.Id };
      if (changes.length > 0 || parsed.nextRecordsUrl === undefined) {
        yield { changes, cursor: current ?? {} };
      }
    }
  }

  /** REST "Query" resource: every page of a SOQL query (up to 2,000 rows each, following nextRecordsUrl). */
  private async *queryPages(
    kind: string,
    what: string,
    soql: string,
    scanAll = false,
  ): AsyncGenerator<z.infer<typeof queryResultSchema>> {
    let page: unknown = await this.counter.call(kind, () =>
      this.queryResult(() => this.conn.query(soql, scanAll ? { scanAll: true } : {})),
    );
    for (;;) {
      const parsed = parseResponse(SYSTEM, what, queryResultSchema, page);
      yield parsed;
      const next = parsed.nextRecordsUrl;
      if (parsed.done !== false || next === undefined) return;
      page = await this.counter.call(kind, () => this.queryResult(() => this.conn.queryMore(next)));
    }
  }

  async findByKey(object: ObjectType, field: string, values: readonly string[]): Promise<SourceChange[]> {
    const o = objectView(this.view, object);
    const f = o.fields.find((x) => x.name === field);
    if (f === undefined || values.length === 0) return [];
    const wanted = new Set(values);
    const out: SourceChange[] = [];
    for (const part of chunk([...wanted], MATCH_QUERY_VALUES)) {
      // SOQL compares text case-insensitively. A website holds a domain inside a URL: LIKE finds it
      // (a `_` in it matches any one character), and the normalized value is checked below.
      const condition =
        f.kind === 'domain'
          ? part.map((v) => `${f.native} LIKE ${soqlLiteral(`%${v}%`)}`).join(' OR ')
          : `${f.native} IN (${part.map(soqlLiteral).join(', ')})`;
      const where = [`(${condition})`, ...filterConditions(o.filters).map((c) => `(${c})`)].join(' AND ');
      const soql = `SELECT ${selectFields(o).join(', ')} FROM ${o.native} WHERE ${where}`;
      for await (const parsed of this.queryPages('query:match', `${o.native} match query`, soql)) {
        for (const row of parsed.records) {
          const r = parseResponse(SYSTEM, `${o.native} match row`, salesforceRecordSchema, row);
          const change = { ...toChange(object, o, r, this.view), readAt: Date.now() };
          const key = change.fields[field];
          if (typeof key === 'string' && wanted.has(key)) out.push(change);
        }
      }
    }
    this.counter.recordsRead += out.length;
    return out;
  }

  async modifiedTimes(object: ObjectType, ids: readonly string[]): Promise<Map<string, number>> {
    const o = objectView(this.view, object);
    const out = new Map<string, number>();
    for (const part of chunk(ids, RETRIEVE_LIMIT)) {
      // sObject Collections retrieve with two fields: up to 2,000 ids per call.
      const rows = await this.counter.call('read', () =>
        this.conn.request({
          method: 'POST',
          url: `/composite/sobjects/${o.native}`,
          body: JSON.stringify({ ids: part, fields: ['Id', 'SystemModstamp'] }),
          headers: { 'Content-Type': 'application/json' },
        }),
      );
      for (const row of parseResponse(SYSTEM, `${o.native} retrieve`, z.array(z.unknown()), rows)) {
        if (row === null) continue;
        const r = parseResponse(SYSTEM, `${o.native} retrieve row`, salesforceRecordSchema, row);
        out.set(r.Id, parseSalesforceDate(r.SystemModstamp));
      }
    }
    return out;
  }

  async read(object: ObjectType, ids: readonly string[]): Promise<SourceChange[]> {
    const o = objectView(this.view, object);
    const out: SourceChange[] = [];
    for (const part of chunk(ids, RETRIEVE_LIMIT)) {
      // sObject Collections retrieve: POST /composite/sobjects/{type} with ids and fields.
      const rows = await this.counter.call('read', () =>
        this.conn.request({
          method: 'POST',
          url: `/composite/sobjects/${o.native}`,
          body: JSON.stringify({ ids: part, fields: selectFields(o) }),
          headers: { 'Content-Type': 'application/json' },
        }),
      );
      for (const row of parseResponse(SYSTEM, `${o.native} retrieve`, z.array(z.unknown()), rows)) {
        if (row === null) continue;
        const r = parseResponse(SYSTEM, `${o.native} retrieve row`, salesforceRecordSchema, row);
        out.push({ ...toChange(object, o, r, this.view), readAt: Date.now() });
      }
    }
    this.counter.recordsRead += out.length;
    return out;
  }

  async delete(
    object: ObjectType,
    ids: readonly { canonicalId: string; externalId: string }[],
  ): Promise<WriteOutcome[]> {
    const o = objectView(this.view, object);
    const outcomes: WriteOutcome[] = [];
    for (const part of chunk(ids, COLLECTION_LIMIT)) {
      const ops = deleteOps(part);
      // sObject Collections delete: DELETE /composite/sobjects?ids=..., allOrNone false.
      const res = await this.batchCall('delete', ops, () =>
        this.conn.sobject(o.native).destroy(
          part.map((p) => p.externalId),
          { allOrNone: false },
        ),
      );
      // Deleting what is already deleted is done, not an error.
      outcomes.push(
        ...res.map(
          (r, i): WriteOutcome =>
            !r.ok &&
            (r.code === 'ENTITY_IS_DELETED' ||
              r.code === 'NOT_FOUND' ||
              r.code === 'INVALID_CROSS_REFERENCE_KEY')
              ? {
                  canonicalId: r.canonicalId,
                  ok: true,
                  externalId: part[i]?.externalId ?? '',
                  created: false,
                }
              : r,
        ),
      );
    }
    return outcomes;
  }

  /** jsforce reads `records` of whatever came back: a page that is no query result fails in it as a TypeError. */
  private async queryResult(run: () => PromiseLike<unknown>): Promise<unknown> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof TypeError && !isNetworkError(err))
        throw new BadResponseError(SYSTEM, `query: the answer is not a query result (${err.message})`, err);
      throw err;
    }
  }

  private readonly createOnlyFields = new Map<ObjectType, Set<string>>();

  /** Fields of the object that can be set on create but not updated (one describe per object, cached). */
  private async createOnly(object: ObjectType): Promise<Set<string>> {
    const cached = this.createOnlyFields.get(object);
    if (cached !== undefined) return cached;
    const fields = await this.describe(object).catch(() => []);
    const out = new Set(fields.filter((f) => f.updateable === false).map((f) => f.name));
    this.createOnlyFields.set(object, out);
    return out;
  }

  async describe(object: ObjectType): Promise<NativeField[]> {
    const o = objectView(this.view, object);
    // REST "sObject Describe": GET /sobjects/{type}/describe
    const res = await this.counter.call('describe', async () => await this.conn.sobject(o.native).describe());
    return parseResponse(SYSTEM, `${o.native} describe`, describeSchema, res).fields.map((f) => ({
      name: f.name,
      type: f.type,
      ...(f.picklistValues !== undefined && f.picklistValues.length > 0
        ? { options: f.picklistValues.map((v) => v.value) }
        : {}),
      unique: f.unique === true || f.externalId === true,
      ...(f.updateable !== undefined ? { updateable: f.updateable } : {}),
    }));
  }

  async write(object: ObjectType, ops: readonly WriteOp[]): Promise<WriteOutcome[]> {
    const o = objectView(this.view, object);
    const outcomes: WriteOutcome[] = [];
    const updates = ops.filter((op) => op.externalId !== undefined);
    const creates = ops.filter((op) => op.externalId === undefined);

    const fixed = updates.length === 0 ? new Set<string>() : await this.createOnly(object);
    // Create-only fields (describe: updateable false, e.g. Opportunity.ContactId) are left out of updates;
    // an update left with nothing to set makes no call.
    const prepared = updates.map((op) => {
      const native = toNative(o, op);
      const skipped = [...o.fields, ...o.refs].filter(
        (f) => fixed.has(f.native) && Object.hasOwn(native, f.native),
      );
      for (const f of skipped) delete native[f.native];
      return { op, record: { Id: op.externalId ?? '', ...native }, skipped: skipped.map((f) => f.name) };
    });
    for (const p of prepared.filter((p) => Object.keys(p.record).length === 1)) {
      outcomes.push({
        canonicalId: p.op.canonicalId,
        ok: true,
        externalId: p.op.externalId ?? '',
        created: false,
        skipped: p.skipped,
      });
    }
    for (const part of chunk(
      prepared.filter((p) => Object.keys(p.record).length > 1),
      COLLECTION_LIMIT,
    )) {
      // sObject Collections update: PATCH /composite/sobjects, allOrNone false, results in request order.
      const sentAt = Date.now();
      const res = await this.batchCall(
        'write:update',
        part.map((p) => p.op),
        () =>
          this.conn.sobject(o.native).update(
            part.map((p) => p.record),
            { allOrNone: false },
          ),
      );
      const done = res.map((r, i) =>
        r.ok && (part[i]?.skipped.length ?? 0) > 0 ? { ...r, skipped: part[i]?.skipped } : r,
      );
      const written = part.filter((p, i) => done[i]?.ok === true && p.op.asOf !== undefined).map((p) => p.op);
      const replaced = await this.replaced(object, written, sentAt);
      outcomes.push(
        ...done.map((r) => {
          const found = replaced.get(r.canonicalId);
          return r.ok && found !== undefined ? { ...r, replaced: found } : r;
        }),
      );
    }
    for (const part of chunk(creates, COLLECTION_LIMIT)) {
      const records = part.map((op) => ({ ...toNative(o, op), [FIELDSYNC_ID_FIELD]: op.canonicalId }));
      // sObject Collections upsert on the external id: a retried create finds the record it made before.
      const res = await this.batchCall('write:upsert', part, () =>
        this.conn.sobject(o.native).upsert(records, FIELDSYNC_ID_FIELD, { allOrNone: false }),
      );
      outcomes.push(...res);
    }
    this.counter.recordsWritten += outcomes.filter((o) => o.ok).length;
    return outcomes;
  }

  /**
   * Neither API makes an update conditional: a user's save can land between read-before-write's check
   * and this update and be overwritten unseen. Field history tracking shows it (`ContactHistory` ...):
   * one query per update batch. An org without field history on the object answers INVALID_TYPE, and a
   * field not tracked has no rows: then nothing is found (said once), and the window stays open there.
   */
  private async replaced(
    object: ObjectType,
    ops: readonly WriteOp[],
    sentAt: number,
  ): Promise<Map<string, ReplacedValues>> {
    const out = new Map<string, ReplacedValues>();
    const o = objectView(this.view, object);
    const history = HISTORY_OBJECTS[o.native];
    if (history === undefined || ops.length === 0 || this.withoutHistory.has(o.native)) return out;
    // History rows are stamped in whole seconds: from the second our clock may be behind by.
    const since = Math.floor((sentAt - CLOCK_SKEW_MS) / 1000) * 1000;
    const ids = ops.map((op) => soqlLiteral(op.externalId ?? '')).join(', ');
    const soql = `SELECT Id, ${history.parentField}, Field, NewValue, CreatedDate, CreatedById FROM ${history.name} WHERE ${history.parentField} IN (${ids}) AND CreatedDate >= ${soqlDateTime(since)} ORDER BY CreatedDate ASC, Id ASC`;
    const rows: z.infer<typeof historyRowSchema>[] = [];
    try {
      for await (const parsed of this.queryPages('query:history', `${history.name} query`, soql)) {
        for (const r of parsed.records)
          rows.push(parseResponse(SYSTEM, `${history.name} row`, historyRowSchema, r));
      }
    } catch (err) {
      const e = translateError(err);
      if (e.code === 'INVALID_TYPE' || e.code === 'INVALID_FIELD') {
        this.withoutHistory.add(o.native);
        console.warn(
          `salesforce: no field history on ${o.native} (${e.code}); a save made during an update can be overwritten unseen`,
        );
      } else console.warn(`salesforce: ${history.name} read after an update failed: ${e.message}`);
      return out;
    }
    for (const op of ops) {
      const found: ReplacedValues = { fields: {}, times: {} };
      for (const [name, written] of Object.entries(op.fields)) {
        const f = o.fields.find((x) => x.name === name);
        if (f === undefined) continue;
        const mine = rows
          .filter(
            (r) =>
              r[history.parentField] === op.externalId && r.Field.toLowerCase() === f.native.toLowerCase(),
          )
          .map((r) => ({
            value: canonicalValue(f, r.NewValue ?? null, this.view),
            at: parseSalesforceDate(r.CreatedDate),
            by: r.CreatedById ?? '',
          }));
        const before = replacedVersion(mine, written, since, op.previous?.[name]);
        if (before === undefined) continue;
        found.fields[name] = before.value;
        found.times[name] = before.at;
      }
      if (Object.keys(found.fields).length > 0) out.set(op.canonicalId, found);
    }
    return out;
  }

  private readonly withoutHistory = new Set<string>();

  private async batchCall(
    kind: string,
    ops: readonly WriteOp[],
    fn: () => Promise<unknown>,
  ): Promise<WriteOutcome[]> {
    let raw: unknown;
    try {
      raw = await this.counter.call(kind, fn);
    } catch (err) {
      return failAll(ops, translateError(err));
    }
    // A malformed answer fails every op of the call, retryably: the writer retries, then parks them.
    const parsed = saveResultsSchema.safeParse(raw);
    if (!parsed.success)
      return failAll(ops, new BadResponseError(SYSTEM, `${kind}: the answer is not a list of save results`));
    const results = parsed.data;
    if (results.length !== ops.length)
      return failAll(
        ops,
        new BadResponseError(SYSTEM, `${kind}: expected ${ops.length} results, got ${results.length}`),
      );
    return ops.map((op, i): WriteOutcome => {
      const r = results[i];
      const id = r?.id ?? op.externalId;
      if (r?.success === true && typeof id === 'string') {
        return {
          canonicalId: op.canonicalId,
          ok: true,
          externalId: id,
          created: r.created ?? op.externalId === undefined,
        };
      }
      const err = r?.errors?.[0];
      // Per-record errors in collection results carry `statusCode`, not `errorCode`.
      const code = err?.statusCode ?? err?.errorCode ?? 'UNKNOWN';
      return {
        canonicalId: op.canonicalId,
        ok: false,
        retryable: RETRYABLE_CODES.has(code),
        code,
        message: err?.message ?? 'write failed',
      };
    });
  }
}

export type { SalesforceRecord };
