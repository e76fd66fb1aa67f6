// Admin HTTP API on the sandbox's own port, for other processes (the demo, the local stack):
// the portal API over JSON, without auth, counting or limits.
import { z } from 'zod';
import { notFoundError } from './errors.ts';
import type { PortalApi } from './portal.ts';
import { parseBody, type Reply } from './routes.ts';
import { isObjectType, objectTypeFrom, PROPERTY_TYPES } from './schema.ts';

const recordBody = z.object({ properties: z.record(z.string(), z.union([z.string(), z.null()])) });
const silentBody = recordBody.extend({ modifiedAt: z.iso.datetime().optional() });
const mergeBody = z.object({ primaryObjectId: z.string(), objectIdToMerge: z.string() });
const propertyBody = z.object({
  name: z.string(),
  label: z.string().optional(),
  type: z.enum(PROPERTY_TYPES),
  fieldType: z.string().optional(),
  options: z.array(z.union([z.string(), z.object({ label: z.string(), value: z.string() })])).optional(),
  hasUniqueValue: z.boolean().optional(),
  groupName: z.string().optional(),
  description: z.string().optional(),
});

/** `associations/:fromType/:fromId/:toType[/:toId]`: GET lists, PUT associates, DELETE removes. */
function genericAssociation(
  portal: PortalApi,
  method: string,
  segments: readonly string[],
): Reply | undefined {
  const [, fromRaw, fromId, toRaw, toId, ...rest] = segments;
  const fromType = objectTypeFrom(fromRaw ?? '');
  const toType = objectTypeFrom(toRaw ?? '');
  if (fromType === undefined || toType === undefined || fromId === undefined || rest.length > 0)
    return undefined;
  if (toId === undefined)
    return method === 'GET'
      ? { status: 200, body: portal.associationsOf(fromType, fromId, toType) }
      : undefined;
  if (method === 'PUT') {
    portal.associateObjects(fromType, fromId, toType, toId);
    return { status: 200, body: { fromType, fromId, toType, toId } };
  }
  if (method === 'DELETE') {
    portal.dissociateObjects(fromType, fromId, toType, toId);
    return { status: 204 };
  }
  return undefined;
}

/**
 * `GET|POST /__sandbox/:object`, `GET|PATCH|DELETE /__sandbox/:object/:id`,
 * `POST /__sandbox/:object/merge {primaryObjectId, objectIdToMerge}`,
 * `PATCH /__sandbox/:object/:id/silent {properties, modifiedAt?}` (no new last-modified time, no webhook),
 * `GET|POST /__sandbox/properties/:object` (POST takes a PropertySpec),
 * `GET /__sandbox/associations/:contactId`, `PUT|DELETE /__sandbox/associations/:contactId/:companyId`,
 * `GET /__sandbox/associations/:fromType/:fromId/:toType`, `PUT|DELETE .../:toType/:toId`,
 * `GET /__sandbox/stats`. `segments` excludes the leading `__sandbox`.
 */
export function adminRoute(
  portal: PortalApi,
  stats: () => Record<string, number>,
  method: string,
  segments: readonly string[],
  body: unknown,
): Reply | undefined {
  const [head, first, second, ...rest] = segments;
  if (head === 'associations' && segments.length >= 4) return genericAssociation(portal, method, segments);
  if (head === 'properties' && first !== undefined && second === undefined && isObjectType(first)) {
    if (method === 'GET') return { status: 200, body: portal.properties(first) };
    if (method === 'POST') {
      const spec = parseBody(propertyBody, body);
      portal.addProperty(first, {
        name: spec.name,
        type: spec.type,
        ...(spec.label === undefined ? {} : { label: spec.label }),
        ...(spec.fieldType === undefined ? {} : { fieldType: spec.fieldType }),
        ...(spec.options === undefined ? {} : { options: spec.options }),
        ...(spec.hasUniqueValue === undefined ? {} : { hasUniqueValue: spec.hasUniqueValue }),
        ...(spec.groupName === undefined ? {} : { groupName: spec.groupName }),
        ...(spec.description === undefined ? {} : { description: spec.description }),
      });
      return { status: 201, body: portal.properties(first).find((p) => p.name === spec.name) };
    }
    return undefined;
  }
  if (head === undefined || rest.length > 0) return undefined;
  if (head === 'stats' && first === undefined && method === 'GET') return { status: 200, body: stats() };
  if (head === 'associations' && first !== undefined) {
    if (second === undefined)
      return method === 'GET' ? { status: 200, body: portal.associations(first) } : undefined;
    if (method === 'PUT') {
      portal.associate(first, second);
      return { status: 200, body: { contactId: first, companyId: second } };
    }
    if (method === 'DELETE') {
      portal.dissociate(first, second);
      return { status: 204 };
    }
    return undefined;
  }
  if (!isObjectType(head)) return undefined;
  if (first === undefined) {
    if (method === 'GET') return { status: 200, body: portal.list(head) };
    if (method === 'POST')
      return { status: 201, body: portal.create(head, parseBody(recordBody, body).properties) };
    return undefined;
  }
  if (second === 'silent' && method === 'PATCH') {
    // A change no poll or webhook sees, for reconciliation: `PATCH /__sandbox/:object/:id/silent`.
    const input = parseBody(silentBody, body);
    const options = input.modifiedAt === undefined ? {} : { modifiedAt: Date.parse(input.modifiedAt) };
    return { status: 200, body: portal.silentUpdate(head, first, input.properties, options) };
  }
  if (second !== undefined) return undefined;
  if (first === 'merge' && method === 'POST') {
    const input = parseBody(mergeBody, body);
    return { status: 200, body: portal.merge(head, input.primaryObjectId, input.objectIdToMerge) };
  }
  switch (method) {
    case 'GET': {
      const record = portal.get(head, first);
      if (record === undefined) throw notFoundError();
      return { status: 200, body: record };
    }
    case 'PATCH':
      return { status: 200, body: portal.update(head, first, parseBody(recordBody, body).properties) };
    case 'DELETE':
      portal.archive(head, first);
      return { status: 204 };
    default:
      return undefined;
  }
}
