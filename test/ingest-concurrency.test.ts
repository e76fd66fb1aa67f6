// Concurrent ingests of the same people from both systems never create duplicate canonical
// records: match keys are claimed with conditional writes on the embedded DynamoDB.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config/default.ts';
import type { SourceChange } from '../connectors/types.ts';
import { type EmbeddedStack, startEmbedded } from '../local/stack.ts';
import { type IngestDeps, ingestChanges } from '../runtime/ingest.ts';
import type { Queue } from '../runtime/queue.ts';

let stack: EmbeddedStack;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fieldsync-race-'));
  // No SaaS is called here; the credentials only need to be well-formed.
  stack = await startEmbedded({
    stateDir: dir,
    credentials: {
      SALESFORCE_INSTANCE_URL: 'http://127.0.0.1:9',
      SALESFORCE_ACCESS_TOKEN: 'x',
      HUBSPOT_ACCESS_TOKEN: 'x',
      HUBSPOT_BASE_URL: 'http://127.0.0.1:9',
    },
  });
});

afterAll(async () => {
  await stack.stop();
  rmSync(dir, { recursive: true, force: true });
});

const sent: string[] = [];
const queue: Queue = {
  send: async (_url, bodies) => {
    sent.push(...bodies);
  },
};

function deps(): IngestDeps {
  return {
    store: stack.store,
    queue,
    writeQueues: { salesforce: 'sf', hubspot: 'hs' },
    ingestQueueUrl: 'ingest',
    model: DEFAULT_CONFIG.model,
    merge: { priority: DEFAULT_CONFIG.priority, skewMs: DEFAULT_CONFIG.skewMs },
    now: Date.now,
  };
}

function person(system: string, id: string, email: string, t: number): SourceChange {
  // Values arrive normalized (the connectors normalize them); the email is the match key.
  return {
    system,
    object: 'contact',
    externalId: id,
    modifiedAt: t,
    fields: { email, lastName: `L-${system}` },
    refs: {},
  };
}

describe('concurrent ingests', () => {
  it('link each person from both systems to one canonical record, whatever the interleaving', async () => {
    const people = Array.from({ length: 40 }, (_, i) => `p${i}@example.com`);
    // Forty people, each arriving from both systems in separate, concurrent ingest calls (as two Lambda
    // invocations would), plus a duplicate delivery of every Salesforce change.
    const calls = people.flatMap((email, i) => [
      () => ingestChanges(deps(), [person('salesforce', `003-${i}`, email, 1000 + i)]),
      () => ingestChanges(deps(), [person('hubspot', `${500 + i}`, email, 2000 + i)]),
      () => ingestChanges(deps(), [person('salesforce', `003-${i}`, email, 1000 + i)]),
    ]);
    await Promise.all(calls.map((call) => call()));

    const records = await stack.store.listRecords('contact');
    expect(records).toHaveLength(people.length);
    const sfLinks = await stack.store.getLinks(
      'salesforce',
      'contact',
      people.map((_, i) => `003-${i}`),
    );
    const hsLinks = await stack.store.getLinks(
      'hubspot',
      'contact',
      people.map((_, i) => `${500 + i}`),
    );
    for (let i = 0; i < people.length; i++) {
      const id = sfLinks.get(`003-${i}`);
      expect(id).toBeDefined();
      expect(hsLinks.get(`${500 + i}`)).toBe(id);
      const record = records.find((r) => r.id === id);
      expect(record?.links).toEqual({ salesforce: `003-${i}`, hubspot: `${500 + i}` });
      // The later HubSpot last name wins; both values were merged into the one record.
      expect(record?.fields.lastName?.value).toBe('L-hubspot');
    }
  });
});
