// The naive baseline: the same changed records written with one API call per record, through the real
// clients' single-record endpoints, one after the other, as a simple integration would.
import { Client } from '@hubspot/api-client';
import { Connection } from 'jsforce';
import type { SystemName } from '../connectors/systems.ts';
import { round } from './stats.ts';
import type { Sandboxes } from './stream.ts';

export interface NaiveWrite {
  /** The system written to. */
  target: SystemName;
  id: string;
  /** Native field names and values, e.g. `{ Title: 'VP' }` or `{ jobtitle: 'VP' }`. */
  fields: Record<string, string>;
}

export interface NaiveSystemReport {
  records: number;
  /** Requests the sandbox received (429 answers and the SDK's retries included). */
  calls: number;
  /** Requests beyond one per record: the SDK's retries after a 429 (no faults are injected here). */
  retried_requests: number;
  failed: number;
  duration_s: number;
  records_per_s: number;
}

/**
 * HubSpot: `PATCH /crm/v3/objects/contacts/{id}` (CRM v3 basic API, `basicApi.update`); Salesforce:
 * `PATCH /services/data/vXX.X/sobjects/Contact/{id}` (REST API sObject Rows, jsforce `update` of one
 * record). The HubSpot client gets the same retry setting as the connector's (the SDK's retry
 * decorator is process-wide): a 429 from the ten-secondly limit is waited out and retried.
 */
export async function naiveWrites(
  boxes: Sandboxes,
  writes: readonly NaiveWrite[],
): Promise<Record<SystemName, NaiveSystemReport>> {
  const hubspot = new Client({
    accessToken: boxes.hubspot.token,
    basePath: boxes.hubspot.url,
    numberOfApiCallRetries: 3,
  });
  const salesforce = new Connection({
    instanceUrl: boxes.salesforce.url,
    accessToken: boxes.salesforce.token,
    version: '62.0',
  });
  const write: Record<SystemName, (w: NaiveWrite) => Promise<boolean>> = {
    hubspot: async (w) => {
      await hubspot.crm.contacts.basicApi.update(w.id, { properties: w.fields });
      return true;
    },
    salesforce: async (w) => {
      const res = await salesforce.sobject('Contact').update({ Id: w.id, ...w.fields });
      return res.success;
    },
  };
  const stats = { hubspot: boxes.hubspot.stats, salesforce: boxes.salesforce.stats };
  const out = {} as Record<SystemName, NaiveSystemReport>;
  for (const system of ['salesforce', 'hubspot'] as const) {
    const mine = writes.filter((w) => w.target === system);
    const before = stats[system].total;
    let failed = 0;
    const start = performance.now();
    for (const w of mine) {
      try {
        if (!(await write[system](w))) failed++;
      } catch {
        failed++;
      }
    }
    const seconds = (performance.now() - start) / 1000;
    const calls = stats[system].total - before;
    out[system] = {
      records: mine.length,
      calls,
      retried_requests: Math.max(0, calls - mine.length),
      failed,
      duration_s: round(seconds, 2),
      records_per_s: round(mine.length / Math.max(seconds, 1e-3), 1),
    };
  }
  return out;
}
