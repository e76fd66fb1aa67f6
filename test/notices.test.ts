// Webhook notices into source changes with the real HubSpot client against the sandbox. A property change
// re-reads the record's properties only: its associations are a call of their own, and an association
// change arrives as its own notice (polls read them too). On the webhook path that is one HubSpot call
// per batch instead of two, which the rate limit (190 per 10 s) turns into latency under load.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config/default.ts';
import { HubSpotConnector } from '../connectors/hubspot/index.ts';
import type { ChangeNotice } from '../connectors/types.ts';
import { changeNoticeSchema } from '../runtime/messages.ts';
import { resolveNotices } from '../runtime/notices.ts';
import { withFirstLinkTimes } from '../runtime/poll.ts';
import { type HubSpotSandbox, startHubSpotSandbox } from '../sandboxes/hubspot/index.ts';
import { startMemoryStore } from './support/fuzz.ts';

let hs: HubSpotSandbox;
let connector: HubSpotConnector;

beforeAll(async () => {
  hs = await startHubSpotSandbox({ seeded: false });
  connector = new HubSpotConnector(
    { accessToken: hs.token, baseUrl: hs.url, overlapMs: 0 },
    DEFAULT_CONFIG.systems.hubspot,
  );
});
afterAll(() => hs.close());

function notice(externalId: string, extra: Partial<ChangeNotice>): ChangeNotice {
  // Through the queue message schema, as the notices function receives them.
  return changeNoticeSchema.parse({
    system: 'hubspot',
    object: 'contact',
    externalId,
    occurredAt: Date.now(),
    eventId: `e-${externalId}-${extra.kind ?? 'change'}-${extra.propertyName ?? ''}`,
    kind: 'change',
    ...extra,
  }) as ChangeNotice;
}

describe('resolveNotices', () => {
  it('reads property changes without their associations, and everything else with them', async () => {
    const company = hs.create('companies', { name: 'Acme', domain: 'acme-notices.example' });
    const a = hs.create('contacts', { email: 'a@acme-notices.example', lastname: 'A' });
    const b = hs.create('contacts', { email: 'b@acme-notices.example', lastname: 'B' });
    hs.associate(a.id, company.id);
    hs.associate(b.id, company.id);
    const calls = () => ({ ...connector.stats().calls });

    const before = calls();
    const props = await resolveNotices(connector, [
      notice(a.id, { propertyName: 'lastname' }),
      notice(a.id, { propertyName: 'jobtitle' }),
    ]);
    expect(props.map((c) => [c.externalId, c.fields.lastName, c.refs])).toEqual([[a.id, 'A', {}]]);
    expect((calls().read ?? 0) - (before.read ?? 0)).toBe(1);
    expect(calls()['associations:read'] ?? 0).toBe(before['associations:read'] ?? 0);

    // A creation (no property named), an association change, or a property change beside one of them.
    const mixed = await resolveNotices(connector, [
      notice(a.id, { propertyName: 'lastname' }),
      notice(a.id, { kind: 'association' }),
      notice(b.id, {}),
    ]);
    expect(Object.fromEntries(mixed.map((c) => [c.externalId, c.refs]))).toEqual({
      [a.id]: { company: company.id },
      [b.id]: { company: company.id },
    });
    expect((calls()['associations:read'] ?? 0) - (before['associations:read'] ?? 0)).toBe(1);
  });
});

describe('first-link field times', () => {
  it('dates the fields of records not linked yet by their own property history, capped at the record time', async () => {
    const store = await startMemoryStore();
    try {
      const old = hs.create('contacts', {
        email: 'old@first-link.example',
        lastname: 'Old',
        jobtitle: 'CTO',
      });
      const titledAt = Date.now();
      await new Promise((r) => setTimeout(r, 20));
      hs.update('contacts', old.id, { lastname: 'Renamed' });
      const linked = hs.create('contacts', { email: 'linked@first-link.example', lastname: 'L' });
      await store.store.putLink('hubspot', 'contact', linked.id, 'contact_linked');
      const read = await connector.read('contact', [old.id, linked.id]);
      const before = connector.stats().calls['read:history'] ?? 0;
      const timed = await withFirstLinkTimes(store.store, connector, 'contact', read);
      expect((connector.stats().calls['read:history'] ?? 0) - before).toBe(1);
      const byId = new Map(timed.map((c) => [c.externalId, c]));
      const first = byId.get(old.id);
      // The title keeps the time it was set, not the later rename's record time.
      expect(first?.fieldTimes?.title).toBeLessThanOrEqual(titledAt);
      expect(first?.fieldTimes?.lastName).toBe(first?.modifiedAt);
      expect(first?.fieldTimes?.title).toBeLessThan(first?.modifiedAt ?? 0);
      // A linked record's shadow says what changed: no history read for it.
      expect(byId.get(linked.id)?.fieldTimes).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});
