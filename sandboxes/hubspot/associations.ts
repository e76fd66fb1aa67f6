// CRM v4 association routes (reference B3 "Associations v4"), generic over the pairs in
// associations-model.ts: contacts ↔ companies, deals ↔ companies, deals ↔ contacts.
// Association changes do not touch the records' modified dates, as in HubSpot.
import { z } from 'zod';
import { directionTypes, specKind, v4Types } from './associations-model.ts';
import { notFoundError, validationError } from './errors.ts';
import {
  batchError,
  batchReply,
  type Call,
  checkBatchSize,
  param,
  parseBody,
  queryInt,
  type Reply,
  type Route,
  typeParam,
} from './routes.ts';
import { type HsObjectType, SCHEMAS } from './schema.ts';
import { type HubSpotStore, isLive } from './store.ts';

const id = z.union([z.string(), z.number()]).transform(String);
const spec = z.object({ associationCategory: z.string(), associationTypeId: z.number() });
const readBody = z.object({ inputs: z.array(z.object({ id, after: z.string().optional() })) });
const createBody = z.object({
  inputs: z.array(z.object({ from: z.object({ id }), to: z.object({ id }), types: z.array(spec) })),
});
const defaultBody = z.object({ inputs: z.array(z.object({ from: z.object({ id }), to: z.object({ id }) })) });
const archiveBody = z.object({
  inputs: z.array(z.object({ from: z.object({ id }), to: z.array(z.object({ id })) })),
});
const labelsArchiveBody = createBody;

/** v4 association reads take up to 1,000 inputs; writes take 100 like the object batches [GUESS]. */
const READ_MAX_INPUTS = 1_000;

/** The (from, to) object types of a v4 route; a 400 when no association type links them. */
function direction(call: Call, fromName: string, toName: string): { from: HsObjectType; to: HsObjectType } {
  const from = typeParam(call, fromName);
  const to = typeParam(call, toName);
  if (from === to) throw validationError(`No association type exists from ${from} to ${to}`);
  directionTypes(from, to);
  return { from, to };
}

function exists(store: HubSpotStore, type: HsObjectType, value: string): boolean {
  const record = store.byId(type, value);
  return record !== undefined && isLive(record);
}

/** HubSpot prints object ids in v4 association bodies as numbers, though the SDK types them string. */
const wireId = (value: string): number | string => (/^\d+$/.test(value) ? Number(value) : value);

function labelsPair(
  from: HsObjectType,
  fromId: string,
  to: HsObjectType,
  toId: string,
  primary: boolean,
): Record<string, unknown> {
  return {
    fromObjectTypeId: SCHEMAS[from].typeId,
    fromObjectId: wireId(fromId),
    toObjectTypeId: SCHEMAS[to].typeId,
    toObjectId: wireId(toId),
    labels: primary ? ['Primary'] : [],
  };
}

function defaultPair(
  from: HsObjectType,
  fromId: string,
  to: HsObjectType,
  toId: string,
): Record<string, unknown>[] {
  const one = (a: HsObjectType, aId: string, b: HsObjectType, bId: string) => ({
    from: { id: aId },
    to: { id: bId },
    associationSpec: {
      associationCategory: 'HUBSPOT_DEFINED',
      associationTypeId: directionTypes(a, b).unlabeled,
    },
  });
  return [one(from, fromId, to, toId), one(to, toId, from, fromId)];
}

function missingError(type: HsObjectType, ids: string[]): Record<string, unknown> {
  return batchError(
    'OBJECT_NOT_FOUND',
    `Some ${SCHEMAS[type].label} objects do not exist: ${ids.join(', ')}`,
    {
      ids,
    },
  );
}

function batchRead(call: Call): Reply {
  const started = call.now();
  const { from, to } = direction(call, 'from', 'to');
  const input = parseBody(readBody, call.body);
  checkBatchSize(input.inputs, READ_MAX_INPUTS);
  const results: unknown[] = [];
  const errors: unknown[] = [];
  for (const value of new Set(input.inputs.map((i) => i.id))) {
    const links = exists(call.store, from, value) ? call.store.links(from, value, to) : [];
    if (links.length === 0) {
      // HubSpot reports ids without associations (or unknown ids) as errors of a 207.
      errors.push(
        batchError(
          'OBJECT_NOT_FOUND',
          `No ${SCHEMAS[to].label.toLowerCase()} is associated with ${SCHEMAS[from].label.toLowerCase()} ${value}.`,
          { fromObjectId: [value] },
          'crm.associations.NO_ASSOCIATIONS_FOUND',
        ),
      );
      continue;
    }
    results.push({
      from: { id: value },
      to: links.map((l) => ({ toObjectId: wireId(l.id), associationTypes: v4Types(from, to, l) })),
    });
  }
  return batchReply(200, started, call.now(), results, errors);
}

function batchCreate(call: Call): Reply {
  const started = call.now();
  const { from, to } = direction(call, 'from', 'to');
  const input = parseBody(createBody, call.body);
  checkBatchSize(input.inputs);
  const planned = input.inputs.map((i) => ({
    ...i,
    primary: i.types.map((t) => specKind(from, to, t)).includes('primary'),
  }));
  const results: unknown[] = [];
  const missing: string[] = [];
  for (const item of planned) {
    if (!exists(call.store, from, item.from.id)) missing.push(item.from.id);
    else if (!exists(call.store, to, item.to.id)) missing.push(item.to.id);
    else {
      call.store.associate(from, item.from.id, to, item.to.id, item.primary);
      results.push(labelsPair(from, item.from.id, to, item.to.id, item.primary));
    }
  }
  return batchReply(
    201,
    started,
    call.now(),
    results,
    missing.length > 0 ? [missingError(from, missing)] : [],
  );
}

function batchDefault(call: Call): Reply {
  const started = call.now();
  const { from, to } = direction(call, 'from', 'to');
  const input = parseBody(defaultBody, call.body);
  checkBatchSize(input.inputs);
  const results: unknown[] = [];
  const missing: string[] = [];
  for (const item of input.inputs) {
    if (!exists(call.store, from, item.from.id)) missing.push(item.from.id);
    else if (!exists(call.store, to, item.to.id)) missing.push(item.to.id);
    else {
      call.store.associate(from, item.from.id, to, item.to.id);
      results.push(...defaultPair(from, item.from.id, to, item.to.id));
    }
  }
  return batchReply(
    200,
    started,
    call.now(),
    results,
    missing.length > 0 ? [missingError(from, missing)] : [],
  );
}

function batchArchive(call: Call): Reply {
  const { from, to } = direction(call, 'from', 'to');
  const input = parseBody(archiveBody, call.body);
  checkBatchSize(input.inputs);
  for (const item of input.inputs)
    for (const target of item.to) call.store.dissociate(from, item.from.id, to, target.id);
  return { status: 204 };
}

/** Removing the primary label keeps the unlabeled association; removing the unlabeled one removes all. */
function batchArchiveLabels(call: Call): Reply {
  const { from, to } = direction(call, 'from', 'to');
  const input = parseBody(labelsArchiveBody, call.body);
  checkBatchSize(input.inputs);
  for (const item of input.inputs) {
    const kinds = item.types.map((t) => specKind(from, to, t));
    if (kinds.includes('unlabeled')) call.store.dissociate(from, item.from.id, to, item.to.id);
    else if (kinds.includes('primary')) call.store.unsetPrimary(from, item.from.id, to, item.to.id);
  }
  return { status: 204 };
}

function listForObject(call: Call): Reply {
  const { from, to } = direction(call, 'type', 'toType');
  const limit = queryInt(call.query, 'limit', 500, 1, 500);
  const after = queryInt(call.query, 'after', 0, 0, Number.MAX_SAFE_INTEGER);
  const value = param(call, 'id');
  const links = exists(call.store, from, value) ? call.store.links(from, value, to) : [];
  const page = links.slice(after, after + limit);
  const next = after + page.length;
  return {
    status: 200,
    body: {
      results: page.map((l) => ({ toObjectId: wireId(l.id), associationTypes: v4Types(from, to, l) })),
      ...(next < links.length ? { paging: { next: { after: String(next) } } } : {}),
    },
  };
}

function requirePair(call: Call): { from: HsObjectType; fromId: string; to: HsObjectType; toId: string } {
  const { from, to } = direction(call, 'type', 'toType');
  const fromId = param(call, 'id');
  const toId = param(call, 'toId');
  if (!exists(call.store, from, fromId))
    throw notFoundError(`No ${SCHEMAS[from].label} with ID ${fromId} exists`);
  if (!exists(call.store, to, toId)) throw notFoundError(`No ${SCHEMAS[to].label} with ID ${toId} exists`);
  return { from, fromId, to, toId };
}

function putDefault(call: Call): Reply {
  const started = call.now();
  const { from, fromId, to, toId } = requirePair(call);
  call.store.associate(from, fromId, to, toId);
  return batchReply(200, started, call.now(), defaultPair(from, fromId, to, toId), []);
}

function putLabels(call: Call): Reply {
  const { from, fromId, to, toId } = requirePair(call);
  const specs = parseBody(z.array(spec), call.body);
  const primary = specs.map((s) => specKind(from, to, s)).includes('primary');
  call.store.associate(from, fromId, to, toId, primary);
  const now = call.store.links(from, fromId, to).find((l) => l.id === toId);
  return { status: 201, body: labelsPair(from, fromId, to, toId, now?.primary ?? primary) };
}

function deletePair(call: Call): Reply {
  const { from, to } = direction(call, 'type', 'toType');
  call.store.dissociate(from, param(call, 'id'), to, param(call, 'toId'));
  return { status: 204 };
}

export const associationRoutes: Route[] = [
  { method: 'POST', pattern: '/crm/v4/associations/:from/:to/batch/read', handler: batchRead },
  { method: 'POST', pattern: '/crm/v4/associations/:from/:to/batch/create', handler: batchCreate },
  {
    method: 'POST',
    pattern: '/crm/v4/associations/:from/:to/batch/associate/default',
    handler: batchDefault,
  },
  { method: 'POST', pattern: '/crm/v4/associations/:from/:to/batch/archive', handler: batchArchive },
  {
    method: 'POST',
    pattern: '/crm/v4/associations/:from/:to/batch/labels/archive',
    handler: batchArchiveLabels,
  },
  { method: 'GET', pattern: '/crm/v4/objects/:type/:id/associations/:toType', handler: listForObject },
  {
    method: 'PUT',
    pattern: '/crm/v4/objects/:type/:id/associations/default/:toType/:toId',
    handler: putDefault,
  },
  { method: 'PUT', pattern: '/crm/v4/objects/:type/:id/associations/:toType/:toId', handler: putLabels },
  { method: 'DELETE', pattern: '/crm/v4/objects/:type/:id/associations/:toType/:toId', handler: deletePair },
];
