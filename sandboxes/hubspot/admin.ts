// Admin HTTP API on the sandbox's own port, for other processes (the demo, the local stack):
// the portal API over JSON, without auth, counting or limits.
import { z } from 'zod';
import { notFoundError } from './errors.ts';
import type { PortalApi } from './portal.ts';
import { parseBody, type Reply } from './routes.ts';
import { isObjectType } from './schema.ts';

const recordBody = z.object({ properties: z.record(z.string(), z.union([z.string(), z.null()])) });

/**
 * `GET|POST /__sandbox/:object`, `GET|PATCH|DELETE /__sandbox/:object/:id`,
 * `GET /__sandbox/associations/:contactId`, `PUT|DELETE /__sandbox/associations/:contactId/:companyId`,
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
  if (second !== undefined) return undefined;
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
