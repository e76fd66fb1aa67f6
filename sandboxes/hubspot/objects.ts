// CRM v3 object routes (reference B3): list, read, create, update, archive, merge, the five
// batch endpoints and search, for contacts, companies and deals.
import { z } from 'zod';
import { type AssociationSpecInput, pairOf, specTarget, v3Entries } from './associations-model.ts';
import { notFoundError, validationError } from './errors.ts';
import {
  batchError,
  batchReply,
  type Call,
  checkBatchSize,
  checkedInt,
  param,
  parseBody,
  queryBool,
  queryInt,
  queryList,
  type Reply,
  type Route,
  typeParam,
} from './routes.ts';
import { type HsObjectType, objectTypeFrom, SCHEMAS, uniqueKey } from './schema.ts';
import {
  FILTER_OPERATORS,
  type FilterOperator,
  pageOf,
  parseSort,
  runSearch,
  SEARCH_MAX_FILTERS,
  SEARCH_MAX_FILTERS_PER_GROUP,
  SEARCH_MAX_GROUPS,
  SEARCH_MAX_LIMIT,
  type SearchDoc,
} from './search.ts';
import { type HubSpotStore, isLive, iso, type PropertyWrites, type StoredRecord } from './store.ts';

// ---- request schemas -------------------------------------------------------------------------

const id = z.union([z.string(), z.number()]).transform(String);
const properties = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]));
const associationSpec = z.object({ associationCategory: z.string(), associationTypeId: z.number() });
const associationInput = z.object({ to: z.object({ id }), types: z.array(associationSpec) });
const createInput = z.object({
  properties,
  associations: z.array(associationInput).optional(),
  objectWriteTraceId: z.string().optional(),
});
const updateInput = z.object({ properties });
const batchReadBody = z.object({
  inputs: z.array(z.object({ id })),
  properties: z.array(z.string()).optional(),
  propertiesWithHistory: z.array(z.string()).optional(),
  idProperty: z.string().optional(),
});
const batchCreateBody = z.object({ inputs: z.array(createInput) });
const batchUpdateBody = z.object({
  inputs: z.array(
    z.object({
      id,
      idProperty: z.string().optional(),
      properties,
      objectWriteTraceId: z.string().optional(),
    }),
  ),
});
const batchArchiveBody = z.object({ inputs: z.array(z.object({ id })) });
const mergeBody = z.object({ primaryObjectId: id, objectIdToMerge: id });
const filter = z.object({
  propertyName: z.string(),
  operator: z.string(),
  value: z.union([z.string(), z.number(), z.boolean()]).transform(String).optional(),
  highValue: z.union([z.string(), z.number()]).transform(String).optional(),
  values: z.array(z.union([z.string(), z.number()]).transform(String)).optional(),
});
const searchBody = z.object({
  filterGroups: z.array(z.object({ filters: z.array(filter) })).optional(),
  sorts: z
    .array(z.union([z.string(), z.object({ propertyName: z.string(), direction: z.string().optional() })]))
    .optional(),
  properties: z.array(z.string()).optional(),
  limit: z.union([z.number(), z.string()]).optional(),
  after: z.union([z.string(), z.number()]).optional(),
  query: z.string().optional(),
});

// ---- output ----------------------------------------------------------------------------------

interface ReadShape {
  properties?: readonly string[] | undefined;
  propertiesWithHistory?: readonly string[] | undefined;
  associations?: readonly string[] | undefined;
}

/** Batch reads that ask for property history take fewer inputs (HubSpot's own message). */
const HISTORY_READ_MAX_INPUTS = 50;

/** SimplePublicObject(WithAssociations): requested known properties plus the always-sent ones. */
function toApiObject(
  store: HubSpotStore,
  record: StoredRecord,
  shape: ReadShape = {},
): Record<string, unknown> {
  const schema = store.schema(record.type);
  const requested = shape.properties?.filter((p) => schema.properties.has(p)) ?? [];
  const names =
    shape.properties === undefined || shape.properties.length === 0
      ? schema.defaultProperties
      : [...new Set([...requested, ...schema.alwaysProperties])].sort();
  const props: Record<string, string | null> = {};
  for (const name of names) props[name] = store.value(record, name) ?? null;
  const out: Record<string, unknown> = {
    id: record.id,
    properties: props,
    createdAt: iso(record.createdAt),
    updatedAt: iso(record.updatedAt),
    archived: !isLive(record),
  };
  if (record.archivedAt !== undefined) out.archivedAt = iso(record.archivedAt);
  const withHistory = shape.propertiesWithHistory?.filter((p) => schema.properties.has(p)) ?? [];
  if (withHistory.length > 0) {
    // ValueWithTimestamp lists, newest first; a property never set has an empty list.
    out.propertiesWithHistory = Object.fromEntries(
      withHistory.map((name) => [
        name,
        [...(record.history.get(name) ?? [])].reverse().map((v) => ({
          value: v.value,
          timestamp: iso(v.timestamp),
          sourceType: v.sourceType,
          ...(v.sourceType === 'CRM_UI' ? { sourceId: 'userId:1', updatedByUserId: 1 } : {}),
        })),
      ]),
    );
  }
  const associations: Record<string, unknown> = {};
  for (const raw of shape.associations ?? []) {
    const toType = objectTypeFrom(raw);
    if (toType === undefined || pairOf(record.type, toType) === undefined) continue;
    const links = store.links(record.type, record.id, toType);
    if (links.length > 0)
      associations[raw] = { results: links.flatMap((l) => v3Entries(record.type, toType, l)) };
  }
  if (Object.keys(associations).length > 0) out.associations = associations;
  return out;
}

/** The properties a write named, for the response (plus the always-sent ones). */
function written(writes: PropertyWrites): string[] {
  return [...writes.keys()];
}

// ---- validation helpers ----------------------------------------------------------------------

function checkAssociations(
  store: HubSpotStore,
  type: HsObjectType,
  inputs: readonly { to: { id: string }; types: readonly AssociationSpecInput[] }[],
): { toType: HsObjectType; toId: string; primary: boolean }[] {
  return inputs.map((input) => {
    // The association type id says what the target is (279 → a company, 3 → a contact, ...).
    const targets = input.types.map((t) => specTarget(type, t));
    const toType = targets[0]?.to;
    if (toType === undefined) throw validationError('Each association needs at least one type');
    if (targets.some((t) => t.to !== toType))
      throw validationError(`Association types of one input must all point at the same object type`);
    const target = store.byId(toType, input.to.id);
    if (target === undefined || !isLive(target)) {
      throw validationError(`${SCHEMAS[toType].label} ${input.to.id} does not exist; cannot associate`);
    }
    return { toType, toId: input.to.id, primary: targets.some((t) => t.kind === 'primary') };
  });
}

function rejectDuplicates(ids: readonly { id: string; idProperty?: string | undefined }[]): void {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const { id: value, idProperty } of ids) {
    const key = idProperty === undefined ? value : `${idProperty}:${uniqueKey(idProperty, value)}`;
    if (seen.has(key)) duplicates.add(value);
    seen.add(key);
  }
  if (duplicates.size > 0) {
    throw validationError(
      `Duplicate IDs found in batch input: [${[...duplicates].join(', ')}]. IDs must be unique`,
    );
  }
}

// ---- handlers --------------------------------------------------------------------------------

function list(call: Call): Reply {
  const type = typeParam(call);
  const limit = queryInt(call.query, 'limit', 10, 1, 100);
  const after = queryInt(call.query, 'after', 0, 0, Number.MAX_SAFE_INTEGER);
  const archived = queryBool(call.query, 'archived');
  const pool = archived ? call.store.archivedRecords(type) : call.store.live(type);
  const from = pool.filter((r) => Number(r.id) >= after);
  const page = from.slice(0, limit);
  const next = from[limit];
  const shape = {
    properties: queryList(call.query, 'properties'),
    associations: queryList(call.query, 'associations'),
  };
  return {
    status: 200,
    body: {
      results: page.map((r) => toApiObject(call.store, r, shape)),
      ...(next === undefined
        ? {}
        : {
            paging: {
              next: { after: next.id, link: `${call.baseUrl}/crm/v3/objects/${type}?after=${next.id}` },
            },
          }),
    },
  };
}

function getOne(call: Call): Reply {
  const type = typeParam(call);
  const record = call.store.resolve(
    type,
    param(call, 'id'),
    call.query.get('idProperty') ?? undefined,
    queryBool(call.query, 'archived'),
  );
  if (record === undefined) throw notFoundError();
  const shape = {
    properties: queryList(call.query, 'properties'),
    associations: queryList(call.query, 'associations'),
  };
  return { status: 200, body: toApiObject(call.store, record, shape) };
}

function createOne(call: Call): Reply {
  const type = typeParam(call);
  const input = parseBody(createInput, call.body);
  const writes = call.store.validateWrites(type, input.properties);
  const links = checkAssociations(call.store, type, input.associations ?? []);
  const record = call.store.create(type, writes);
  for (const link of links) call.store.associate(type, record.id, link.toType, link.toId, link.primary);
  return { status: 201, body: toApiObject(call.store, record, { properties: written(writes) }) };
}

function updateOne(call: Call): Reply {
  const type = typeParam(call);
  const input = parseBody(updateInput, call.body);
  const writes = call.store.validateWrites(type, input.properties);
  const record = call.store.resolve(type, param(call, 'id'), call.query.get('idProperty') ?? undefined);
  if (record === undefined) throw notFoundError();
  const updated = call.store.update(type, record.id, writes);
  return { status: 200, body: toApiObject(call.store, updated, { properties: written(writes) }) };
}

function archiveOne(call: Call): Reply {
  call.store.archive(typeParam(call), param(call, 'id'));
  return { status: 204 };
}

function batchRead(call: Call): Reply {
  const started = call.now();
  const type = typeParam(call);
  const input = parseBody(batchReadBody, call.body);
  checkBatchSize(input.inputs);
  if ((input.propertiesWithHistory?.length ?? 0) > 0 && input.inputs.length > HISTORY_READ_MAX_INPUTS)
    throw validationError(
      `The maximum number of inputs supported in a batch request for property histories is ${HISTORY_READ_MAX_INPUTS}. Please reduce the number of items and try again`,
    );
  const archived = queryBool(call.query, 'archived');
  const seen = new Set<string>();
  const results: unknown[] = [];
  const missing: string[] = [];
  for (const { id: value } of input.inputs) {
    const record = call.store.resolve(type, value, input.idProperty, archived);
    if (record === undefined) missing.push(value);
    else if (!seen.has(record.id)) {
      seen.add(record.id);
      results.push(
        toApiObject(call.store, record, {
          properties: input.properties,
          propertiesWithHistory: input.propertiesWithHistory,
        }),
      );
    }
  }
  const errors =
    missing.length === 0
      ? []
      : [
          batchError(
            'OBJECT_NOT_FOUND',
            `Could not get some ${SCHEMAS[type].label} objects, they may be deleted or not exist. Check that ids are valid.`,
            { ids: missing },
          ),
        ];
  return batchReply(200, started, call.now(), results, errors);
}

/** All-or-nothing unless every input carries an `objectWriteTraceId` (then 207 with partial results). */
function batchCreate(call: Call): Reply {
  const started = call.now();
  const type = typeParam(call);
  const input = parseBody(batchCreateBody, call.body);
  checkBatchSize(input.inputs);
  const traced = input.inputs.length > 0 && input.inputs.every((i) => i.objectWriteTraceId !== undefined);
  const planned = input.inputs.map((i) => ({
    input: i,
    writes: call.store.validateWrites(type, i.properties),
    links: checkAssociations(call.store, type, i.associations ?? []),
  }));
  const pending = new Map<string, string>();
  const errors: unknown[] = [];
  const accepted: typeof planned = [];
  planned.forEach((plan, index) => {
    const clash = call.store.conflict(type, plan.writes, undefined, pending);
    if (clash === undefined) {
      call.store.claim(type, plan.writes, `input-${index}`, pending);
      accepted.push(plan);
      return;
    }
    if (!traced) throw clash;
    errors.push(
      batchError(clash.category, clash.message, {
        objectWriteTraceId: [plan.input.objectWriteTraceId ?? ''],
      }),
    );
  });
  const results = accepted.map((plan) => {
    const record = call.store.create(type, plan.writes);
    for (const link of plan.links)
      call.store.associate(type, record.id, link.toType, link.toId, link.primary);
    const out = toApiObject(call.store, record, { properties: written(plan.writes) });
    return plan.input.objectWriteTraceId === undefined
      ? out
      : { ...out, objectWriteTraceId: plan.input.objectWriteTraceId };
  });
  return batchReply(201, started, call.now(), results, errors);
}

function batchUpdate(call: Call): Reply {
  const started = call.now();
  const type = typeParam(call);
  const input = parseBody(batchUpdateBody, call.body);
  checkBatchSize(input.inputs);
  rejectDuplicates(input.inputs);
  const planned = input.inputs.map((i) => ({
    input: i,
    writes: call.store.validateWrites(type, i.properties),
  }));
  const pending = new Map<string, string>();
  const missing: string[] = [];
  const errors: unknown[] = [];
  const results: unknown[] = [];
  for (const { input: item, writes } of planned) {
    const record = call.store.resolve(type, item.id, item.idProperty);
    if (record === undefined) {
      missing.push(item.id);
      continue;
    }
    const clash = call.store.conflict(type, writes, record.id, pending);
    if (clash !== undefined) {
      errors.push(batchError(clash.category, clash.message, { ids: [item.id] }));
      continue;
    }
    call.store.claim(type, writes, record.id, pending);
    const updated = call.store.update(type, record.id, writes);
    results.push(toApiObject(call.store, updated, { properties: written(writes) }));
  }
  if (missing.length > 0) {
    errors.unshift(
      batchError('OBJECT_NOT_FOUND', `Could not find some ${SCHEMAS[type].label} objects to update.`, {
        ids: missing,
      }),
    );
  }
  return batchReply(200, started, call.now(), results, errors);
}

/** Upsert by a unique property (email, fieldsync_id): creates the missing, updates the rest. */
function batchUpsert(call: Call): Reply {
  const started = call.now();
  const type = typeParam(call);
  const input = parseBody(batchUpdateBody, call.body);
  checkBatchSize(input.inputs);
  const planned = input.inputs.map((item) => {
    const idProperty = item.idProperty;
    if (idProperty === undefined || idProperty === 'hs_object_id') {
      throw validationError('Upsert requires idProperty to name a unique value property (e.g. email)');
    }
    call.store.assertIdProperty(type, idProperty);
    const writes = new Map(call.store.validateWrites(type, item.properties));
    return { item, idProperty, writes };
  });
  rejectDuplicates(planned.map((p) => ({ id: p.item.id, idProperty: p.idProperty })));
  const pending = new Map<string, string>();
  const errors: unknown[] = [];
  const results: unknown[] = [];
  for (const { item, idProperty, writes } of planned) {
    const existing = call.store.resolve(type, item.id, idProperty);
    if (existing === undefined) writes.set(idProperty, item.id);
    const clash = call.store.conflict(type, writes, existing?.id, pending);
    if (clash !== undefined) {
      errors.push(batchError(clash.category, clash.message, { ids: [item.id] }));
      continue;
    }
    const record =
      existing === undefined ? call.store.create(type, writes) : call.store.update(type, existing.id, writes);
    call.store.claim(type, writes, record.id, pending);
    results.push({
      ...toApiObject(call.store, record, { properties: written(writes) }),
      new: existing === undefined,
    });
  }
  return batchReply(200, started, call.now(), results, errors);
}

/** `POST /crm/v3/objects/{type}/merge`: 200 with the merged record (see HubSpotStore.merge). */
function merge(call: Call): Reply {
  const type = typeParam(call);
  const input = parseBody(mergeBody, call.body);
  const record = call.store.merge(type, input.primaryObjectId, input.objectIdToMerge);
  // [GUESS] the default properties plus the merge bookkeeping.
  const properties = [...SCHEMAS[type].defaultProperties, 'hs_merged_object_ids'];
  return { status: 200, body: toApiObject(call.store, record, { properties }) };
}

function batchArchive(call: Call): Reply {
  const type = typeParam(call);
  const input = parseBody(batchArchiveBody, call.body);
  checkBatchSize(input.inputs);
  for (const item of input.inputs) call.store.archive(type, item.id);
  return { status: 204 };
}

function isOperator(value: string): value is FilterOperator {
  return FILTER_OPERATORS.some((op) => op === value);
}

interface IndexedDoc extends SearchDoc {
  record: StoredRecord;
}

/** CRM search; the 10,000-result cap and 200-per-page limit are HubSpot's (reference B6.4). */
function search(call: Call): Reply {
  const type = typeParam(call);
  const schema = call.store.schema(type);
  const input = parseBody(searchBody, call.body);
  const limit = input.limit === undefined ? 10 : checkedInt(input.limit, 'limit', 1, SEARCH_MAX_LIMIT);
  const after =
    input.after === undefined || input.after === ''
      ? 0
      : checkedInt(input.after, 'after', 0, Number.MAX_SAFE_INTEGER);
  const groups = input.filterGroups ?? [];
  const filterCount = groups.reduce((n, g) => n + g.filters.length, 0);
  if (
    groups.length > SEARCH_MAX_GROUPS ||
    groups.some((g) => g.filters.length > SEARCH_MAX_FILTERS_PER_GROUP) ||
    filterCount > SEARCH_MAX_FILTERS
  ) {
    throw validationError(
      `Too many filters: at most ${SEARCH_MAX_GROUPS} filterGroups of ${SEARCH_MAX_FILTERS_PER_GROUP} filters, ${SEARCH_MAX_FILTERS} in total`,
    );
  }
  const filterGroups = groups.map((g) => ({
    filters: g.filters.map((f) => {
      if (!isOperator(f.operator)) throw validationError(`Unknown filter operator: ${f.operator}`);
      return { ...f, operator: f.operator };
    }),
  }));
  const docs: IndexedDoc[] = call.store
    .searchable(type)
    .map((record) => ({ id: record.id, properties: call.store.allProperties(record), record }));
  const matches = runSearch(
    docs,
    {
      filterGroups,
      sorts: (input.sorts ?? []).map(parseSort),
      query: input.query,
      queryProperties: schema.queryProperties,
    },
    (name) => schema.properties.get(name)?.kind,
  );
  const page = pageOf(matches, after, limit);
  const results = page.results.map((doc) =>
    toApiObject(call.store, doc.record, { properties: input.properties }),
  );
  return {
    status: 200,
    body: {
      total: page.total,
      results,
      ...(page.next === undefined
        ? {}
        : { paging: { next: { after: String(page.next), link: `?after=${page.next}` } } }),
    },
  };
}

export const objectRoutes: Route[] = [
  { method: 'POST', pattern: '/crm/v3/objects/:type/search', search: true, handler: search },
  { method: 'POST', pattern: '/crm/v3/objects/:type/merge', handler: merge },
  { method: 'POST', pattern: '/crm/v3/objects/:type/batch/read', handler: batchRead },
  { method: 'POST', pattern: '/crm/v3/objects/:type/batch/create', handler: batchCreate },
  { method: 'POST', pattern: '/crm/v3/objects/:type/batch/update', handler: batchUpdate },
  { method: 'POST', pattern: '/crm/v3/objects/:type/batch/upsert', handler: batchUpsert },
  { method: 'POST', pattern: '/crm/v3/objects/:type/batch/archive', handler: batchArchive },
  { method: 'GET', pattern: '/crm/v3/objects/:type', handler: list },
  { method: 'POST', pattern: '/crm/v3/objects/:type', handler: createOne },
  { method: 'GET', pattern: '/crm/v3/objects/:type/:id', handler: getOne },
  { method: 'PATCH', pattern: '/crm/v3/objects/:type/:id', handler: updateOne },
  { method: 'DELETE', pattern: '/crm/v3/objects/:type/:id', handler: archiveOne },
];
