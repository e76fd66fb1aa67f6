// Salesforce sandbox: a loopback fake of the REST API parts fieldsync uses, faithful enough
// for the unmodified jsforce client. Test host and the demo's data source.

import { setTimeout as sleep } from 'node:timers/promises';
import { FaultSwitch, type SandboxFaults } from '../faults.ts';
import { CallStats, listen } from '../http.ts';
import { SalesforceSandboxError } from './errors.ts';
import { type OutboundMessagesOptions, OutboundSender, type SandboxOutbound } from './outbound.ts';
import {
  type CustomFieldSpec,
  describeObject,
  type MergeableSObject,
  OrgSchema,
  SchemaError,
  type SObjectName,
} from './schema.ts';
import { seedOrg } from './seed-org.ts';
import { createHandler, type SalesforceFaultOptions } from './server.ts';
import { SalesforceStore, type SfRecord, type SfValue, ShapeError, type WriteResult } from './store.ts';

export { type RecordError, SalesforceSandboxError, SfApiError } from './errors.ts';
export { formatDateTime, parseDateTime } from './format.ts';
export {
  DEFAULT_ORGANIZATION_ID,
  MAX_NOTIFICATIONS_PER_MESSAGE,
  type OutboundFaults,
  type OutboundMessagesOptions,
  type OutboundStats,
  type SandboxOutbound,
} from './outbound.ts';
export {
  CUSTOM_FIELD_TYPES,
  type CustomFieldSpec,
  type CustomFieldType,
  type MergeableSObject,
  OPPORTUNITY_STAGES,
  type SObjectName,
} from './schema.ts';
export { COLLECTION_LIMIT, RETRIEVE_LIMIT, type SalesforceFaultOptions } from './server.ts';
export type { SfRecord, SfValue } from './store.ts';

export const DEFAULT_TOKEN = 'sandbox-salesforce-token';
export const DEFAULT_REFRESH_TOKEN = 'sandbox-salesforce-refresh-token';

export interface SalesforceSandboxOptions {
  /** Default 0 (random free port). */
  port?: number;
  /** Bearer token accepted; default 'sandbox-salesforce-token'. */
  token?: string;
  /** Refresh token accepted by POST /services/oauth2/token; default 'sandbox-salesforce-refresh-token'. */
  refreshToken?: string;
  /** Passed to seedDataset(); default seed 42, 60 people. */
  seed?: number;
  people?: number;
  companies?: number;
  /** Seeded Opportunities (see seedDataset `deals`); default 0, which keeps older seeds identical. */
  deals?: number;
  /** Custom fields the org starts with, e.g. `{ Contact: [{ name: 'Region__c', type: 'picklist', picklistValues: [...] }] }`. */
  customFields?: Partial<Record<SObjectName, readonly CustomFieldSpec[]>>;
  /** Default true; false = empty org. */
  seeded?: boolean;
  /** Clock in ms; default Date.now. */
  now?: () => number;
  /** Query page size; default 2000. */
  pageSize?: number;
  /** API requests allowed per rolling 24 h before 403 REQUEST_LIMIT_EXCEEDED; default 100000. */
  dailyLimit?: number;
  /** Fault injection on API routes: seeded random 503 SERVER_UNAVAILABLE, fixed latency, a slow tail. */
  faults?: SalesforceFaultOptions;
  /** Outbound Messages on create/update (API and direct API); off unless given or configured later. */
  outboundMessages?: OutboundMessagesOptions;
}

export interface SalesforceSandbox {
  url: string;
  token: string;
  refreshToken: string;
  /** API calls by route key, e.g. 'GET query', 'GET queryMore', 'PATCH composite/sobjects'. */
  stats: CallStats;
  /** Outbound Messages: flush(), stats, configure(). */
  outbound: SandboxOutbound;
  /** Injected API faults: change them while running (`configure`), count them by kind (`stats`). */
  faults: SandboxFaults<SalesforceFaultOptions>;
  /**
   * A restart of the host: open connections are dropped, new ones refused for `downMs`, then the server
   * listens on the same port again with its data, tokens and cursors kept. Counted as fault 'restart'.
   */
  restart(downMs?: number): Promise<void>;
  close(): Promise<void>;
  /** Invalidates every access token, so the next API call gets 401 INVALID_SESSION_ID (refresh tests). */
  expireSessions(): void;
  // Direct API, a "user edit" in the org: not counted in stats, not rate limited. Throws SalesforceSandboxError.
  list(sobject: SObjectName): SfRecord[];
  get(sobject: SObjectName, id: string): SfRecord | undefined;
  create(sobject: SObjectName, fields: Record<string, SfValue>): SfRecord;
  update(sobject: SObjectName, id: string, fields: Record<string, SfValue>): SfRecord;
  delete(sobject: SObjectName, id: string): void;
  /**
   * A change no poller or Outbound Message sees (a restore from backup, a value the org altered):
   * timestamps kept, or set to `modifiedAt` (e.g. an old one). For reconciliation tests.
   */
  silentUpdate(
    sobject: SObjectName,
    id: string,
    fields: Record<string, SfValue>,
    options?: { modifiedAt?: number },
  ): SfRecord;
  /** A hard delete (recycle bin emptied): not in queryAll, not retrievable, nobody told. */
  purge(sobject: SObjectName, id: string): void;
  /**
   * Salesforce merge(): losers (at most 2) are deleted with MasterRecordId = master, their
   * children re-parented to the master, the master's SystemModstamp bumped. `masterFields` are
   * written to the master first (how merge() takes values from the losers). Returns the master.
   */
  merge(
    sobject: MergeableSObject,
    masterId: string,
    loserIds: readonly string[],
    masterFields?: Record<string, SfValue>,
  ): SfRecord;
  /** Adds a custom field (name ending in `__c`); describe, reads, writes and SOQL accept it at once. */
  addField(sobject: SObjectName, spec: CustomFieldSpec): void;
  /** The describe body of an object (`GET /sobjects/:type/describe`), custom fields included. */
  describe(sobject: SObjectName): Record<string, unknown>;
}

function unwrap(result: WriteResult): SfRecord {
  if (!result.ok) throw new SalesforceSandboxError(result.errors);
  return result.record;
}

export async function startSalesforceSandbox(
  options: SalesforceSandboxOptions = {},
): Promise<SalesforceSandbox> {
  const now = options.now ?? Date.now;
  const token = options.token ?? DEFAULT_TOKEN;
  const refreshToken = options.refreshToken ?? DEFAULT_REFRESH_TOKEN;
  const schema = new OrgSchema();
  for (const [sobject, specs] of Object.entries(options.customFields ?? {}))
    for (const spec of specs ?? []) addField(schema, sobject, spec);
  const store = new SalesforceStore(now, schema);
  if (options.seeded !== false)
    seedOrg(store, {
      seed: options.seed ?? 42,
      people: options.people ?? 60,
      ...(options.companies === undefined ? {} : { companies: options.companies }),
      ...(options.deals === undefined ? {} : { deals: options.deals }),
      now: now(),
    });

  const stats = new CallStats();
  const tokens = new Set([token]);
  let issued = 0;
  let baseUrl = '';
  const faults = new FaultSwitch(options.faults);
  const handler = createHandler({
    store,
    stats,
    now,
    pageSize: options.pageSize ?? 2000,
    dailyLimit: options.dailyLimit ?? 100_000,
    tokens,
    refreshToken,
    issueToken: () => {
      issued++;
      const fresh = `${token}.refreshed.${issued}`;
      tokens.add(fresh);
      return fresh;
    },
    baseUrl: () => baseUrl,
    faults,
  });
  const server = await listen(handler, options.port ?? 0);
  baseUrl = server.url;
  const outbound = new OutboundSender(store, () => baseUrl, options.outboundMessages);

  return {
    url: server.url,
    token,
    refreshToken,
    stats,
    outbound,
    faults,
    restart: async (downMs = 0) => {
      faults.count('restart');
      await server.close();
      await sleep(downMs);
      await server.reopen();
    },
    close: async () => {
      await outbound.stop();
      await server.close();
    },
    expireSessions: () => tokens.clear(),
    list: (sobject) => store.rows(sobject).map((r) => ({ ...r })),
    get: (sobject, id) => store.get(sobject, id),
    create: (sobject, fields) => unwrap(store.create(sobject, normalizeDirect(store, sobject, fields))),
    update: (sobject, id, fields) => {
      const result = store.update(sobject, id, normalizeDirect(store, sobject, fields));
      return unwrap(result);
    },
    delete: (sobject, id) => {
      unwrap(store.delete(sobject, id));
    },
    silentUpdate: (sobject, id, fields, options = {}) =>
      unwrap(store.silentUpdate(sobject, id, normalizeDirect(store, sobject, fields), options.modifiedAt)),
    purge: (sobject, id) => {
      if (!store.purge(sobject, id))
        throw new SalesforceSandboxError([
          { statusCode: 'INVALID_CROSS_REFERENCE_KEY', message: 'invalid cross reference id', fields: [] },
        ]);
    },
    merge: (sobject, masterId, loserIds, masterFields = {}) =>
      unwrap(store.merge(sobject, masterId, loserIds, normalizeDirect(store, sobject, masterFields))),
    addField: (sobject, spec) => addField(schema, sobject, spec),
    describe: (sobject) => describeObject(schema.object(sobject), '62.0'),
  };
}

function addField(schema: OrgSchema, sobject: string, spec: CustomFieldSpec): void {
  const object = schema.resolve(sobject);
  if (object === undefined)
    throw new SalesforceSandboxError([
      { statusCode: 'INVALID_TYPE', message: `No sObject ${sobject}`, fields: [] },
    ]);
  try {
    schema.addField(object.name, spec);
  } catch (e) {
    if (e instanceof SchemaError)
      throw new SalesforceSandboxError([
        { statusCode: e.errorCode, message: e.message, fields: [spec.name] },
      ]);
    throw e;
  }
}

function normalizeDirect(store: SalesforceStore, sobject: SObjectName, fields: Record<string, SfValue>) {
  try {
    return store.normalize(store.schema.object(sobject), fields);
  } catch (e) {
    if (e instanceof ShapeError)
      throw new SalesforceSandboxError([{ statusCode: e.errorCode, message: e.message, fields: e.fields }]);
    throw e;
  }
}
