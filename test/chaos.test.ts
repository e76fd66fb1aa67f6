// The chaos suite at its small size (see chaos/ and the README's "Chaos suite"), and the sandbox
// fault knobs it relies on.
import { afterEach, describe, expect, it } from 'vitest';
import { type HubSpotSandbox, startHubSpotSandbox } from '../sandboxes/hubspot/index.ts';
import { type SalesforceSandbox, startSalesforceSandbox } from '../sandboxes/salesforce/index.ts';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

async function hubspot(options: Parameters<typeof startHubSpotSandbox>[0]): Promise<HubSpotSandbox> {
  const s = await startHubSpotSandbox(options);
  open.push(s);
  return s;
}

async function salesforce(options: Parameters<typeof startSalesforceSandbox>[0]): Promise<SalesforceSandbox> {
  const s = await startSalesforceSandbox(options);
  open.push(s);
  return s;
}

const hsGet = (s: HubSpotSandbox) =>
  fetch(`${s.url}/crm/v3/objects/contacts?limit=1`, { headers: { authorization: `Bearer ${s.token}` } });
const sfGet = (s: SalesforceSandbox) =>
  fetch(`${s.url}/services/data/v62.0/limits`, { headers: { authorization: `Bearer ${s.token}` } });

describe('sandbox fault knobs', () => {
  it('HubSpot: injected 429s carry Retry-After, faults switch on and off while running, counted by kind', async () => {
    const s = await hubspot({ seeded: false });
    expect((await hsGet(s)).status).toBe(200);
    s.faults.configure({ seed: 3, rate429: 1, fault429: 'secondly', retryAfterSeconds: 2 });
    const limited = await hsGet(s);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(await limited.json()).toMatchObject({ policyName: 'SECONDLY' });
    s.faults.configure({ seed: 3, rate5xx: 1 });
    expect((await hsGet(s)).status).toBe(500);
    s.faults.configure(undefined);
    expect((await hsGet(s)).status).toBe(200);
    expect(s.faults.stats()).toEqual({ '429': 1, '5xx': 1 });
  });

  it('Salesforce: 503s and a slow tail, counted by kind', async () => {
    const s = await salesforce({ seeded: false, faults: { seed: 5, slowRate: 1, slowMs: 30 } });
    expect((await sfGet(s)).status).toBe(200);
    s.faults.configure({ seed: 5, rate5xx: 1 });
    const down = await sfGet(s);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual([expect.objectContaining({ errorCode: 'SERVER_UNAVAILABLE' })]);
    expect(s.faults.stats()).toEqual({ slow: 1, '5xx': 1 });
  });

  it('restart: connections refused while down, then the same port with the same data', async () => {
    const s = await hubspot({ seeded: false });
    const created = s.create('contacts', { email: 'kept@example.com', firstname: 'Kept' });
    let up = true;
    const restarting = s.restart(500).finally(() => {
      up = true;
    });
    up = false;
    // While it is down a connection is refused (tried until the close has taken effect).
    let refused = false;
    while (!up && !refused) refused = await hsGet(s).then(() => false, () => true);
    expect(refused).toBe(true);
    await restarting;
    const res = await fetch(`${s.url}/crm/v3/objects/contacts/${created.id}?properties=firstname`, {
      headers: { authorization: `Bearer ${s.token}` },
    });
    expect(res.status).toBe(200);
    expect((await res.json()).properties.firstname).toBe('Kept');
    expect(s.faults.stats()).toEqual({ restart: 1 });

    const sf = await salesforce({ seeded: false });
    await sf.restart(0);
    expect((await sfGet(sf)).status).toBe(200);
  });
});
