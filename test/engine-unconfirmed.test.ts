// A read taken before one of our writes but applied after it (a slow poll page, a notice read queued
// earlier) still shows the value the system held before the write. It is no edit: found by the chaos
// suite (sandbox-restart, seed 5017), where such a read carried a newer record time and reverted the
// other system's edit everywhere. Our write stays unconfirmed until a read shows its value.
import { describe, expect, it } from 'vitest';
import {
  type CanonicalRecord,
  emptyRecord,
  type MergeContext,
  mergeSnapshot,
  planWrite,
  recordWritten,
  type SourceSnapshot,
} from '../engine/index.ts';

const ctx: Omit<MergeContext, 'now'> = { priority: {}, skewMs: 1000 };
const SF = '0035g00000AbCdE';
const HS = '5101';

function snap(system: 'salesforce' | 'hubspot', modifiedAt: number, fields: Record<string, string | null>) {
  const s: SourceSnapshot = {
    system,
    object: 'contact',
    externalId: system === 'salesforce' ? SF : HS,
    modifiedAt,
    fields,
  };
  return s;
}

function merge(record: CanonicalRecord, s: SourceSnapshot, now: number) {
  return mergeSnapshot(record, s, { ...ctx, now });
}

/** Both systems hold title 'Old' (t=1000); HubSpot then edits it to 'New' at t=5000; we write Salesforce at t=6000. */
function afterWrite(): CanonicalRecord {
  let r = emptyRecord('contact_x', 'contact');
  r = merge(r, snap('salesforce', 1000, { email: 'a@b.co', title: 'Old' }), 1100).record;
  r = merge(r, snap('hubspot', 1000, { email: 'a@b.co', title: 'Old' }), 1100).record;
  r = merge(r, snap('hubspot', 5000, { email: 'a@b.co', title: 'New' }), 5100).record;
  const plan = planWrite(r, 'salesforce');
  expect(plan).toMatchObject({ op: 'update', fields: { title: 'New' } });
  if (plan.op !== 'update') throw new Error('no update');
  return recordWritten(r, 'salesforce', plan.fields, SF, 6000);
}

describe('an unconfirmed write', () => {
  it('is not reverted by a read from before it that carries a newer record time', () => {
    const r = afterWrite();
    // Salesforce was read at 5900 (another field edited there at 5500), before our write landed.
    const late = merge(
      r,
      snap('salesforce', 5500, { email: 'a@b.co', title: 'Old', phone: '+14155550100' }),
      6100,
    );
    expect(late.record.fields.title?.value).toBe('New');
    expect(late.changes.map((c) => c.field)).toEqual(['phone']);
    expect(late.record.shadows.salesforce?.values.title).toBe('New');
    // Nothing to write back to Salesforce: it holds (or is about to show) 'New'.
    expect(planWrite(late.record, 'salesforce').op).toBe('none');
    expect(planWrite(late.record, 'hubspot')).toMatchObject({
      op: 'update',
      fields: { phone: '+14155550100' },
    });
  });

  it('is confirmed by a read that shows the written value, after which the old value is an edit again', () => {
    const r = afterWrite();
    const echo = merge(r, snap('salesforce', 6000, { email: 'a@b.co', title: 'New' }), 6100);
    expect(echo.record.shadows.salesforce?.unconfirmed).toBeUndefined();
    // A user then sets 'Old' again in Salesforce: a real edit, and the newest.
    const revert = merge(echo.record, snap('salesforce', 7000, { email: 'a@b.co', title: 'Old' }), 7100);
    expect(revert.record.fields.title).toMatchObject({ value: 'Old', source: 'salesforce' });
  });

  it('yields to the old value read clearly after the write (a user putting it back)', () => {
    const r = afterWrite();
    const revert = merge(
      r,
      snap('salesforce', 6000 + ctx.skewMs + 1, { email: 'a@b.co', title: 'Old' }),
      9000,
    );
    expect(revert.record.fields.title).toMatchObject({ value: 'Old', source: 'salesforce' });
    expect(revert.record.shadows.salesforce?.unconfirmed).toBeUndefined();
  });

  it('yields to a third value, whenever it was read', () => {
    const r = afterWrite();
    const other = merge(r, snap('salesforce', 5800, { email: 'a@b.co', title: 'Third' }), 6100);
    expect(other.record.shadows.salesforce?.values.title).toBe('Third');
    expect(other.record.shadows.salesforce?.unconfirmed).toBeUndefined();
    expect(other.changes.map((c) => c.field)).toEqual(['title']);
  });

  it('is not marked for a create, or without a write time', () => {
    let r = emptyRecord('contact_y', 'contact');
    r = merge(r, snap('hubspot', 1000, { email: 'c@d.co', title: 'T' }), 1100).record;
    const plan = planWrite(r, 'salesforce');
    if (plan.op !== 'create') throw new Error('expected a create');
    expect(
      recordWritten(r, 'salesforce', plan.fields, SF, 2000).shadows.salesforce?.unconfirmed,
    ).toBeUndefined();
  });
});

describe('values our write replaced (found in the property history)', () => {
  /** Both hold 'Old'; Salesforce edits to 'SF' at t=5000; we write 'SF' to HubSpot at t=7000. */
  function written(): CanonicalRecord {
    let r = emptyRecord('contact_x', 'contact');
    r = merge(r, snap('salesforce', 1000, { email: 'a@b.co', title: 'Old' }), 1100).record;
    r = merge(r, snap('hubspot', 1000, { email: 'a@b.co', title: 'Old' }), 1100).record;
    r = merge(r, snap('salesforce', 5000, { email: 'a@b.co', title: 'SF' }), 5100).record;
    return recordWritten(r, 'hubspot', { title: 'SF' }, HS, 7000);
  }
  const replaced = (at: number, title: string | null): SourceSnapshot => ({
    ...snap('hubspot', at, { title }),
    fieldTimes: { title: at },
    replaced: true,
  });

  it('a newer one wins in canonical, the shadow keeps what the system holds, and both get written', () => {
    const r = written();
    const res = merge(r, replaced(6500, 'User'), 7100);
    expect(res.record.fields.title).toMatchObject({ value: 'User', source: 'hubspot', sourceTime: 6500 });
    expect(res.record.shadows).toEqual(r.shadows);
    expect(res.changes.map((c) => c.reason)).toEqual(['edit']);
    expect(planWrite(res.record, 'hubspot')).toMatchObject({ op: 'update', fields: { title: 'User' } });
    expect(planWrite(res.record, 'salesforce')).toMatchObject({ op: 'update', fields: { title: 'User' } });
  });

  it('an older one loses and is audited so; merging it twice changes nothing more', () => {
    const r = written();
    const res = merge(r, replaced(3000, 'Stale'), 7100);
    expect(res.changed).toBe(false);
    expect(res.record).toBe(r);
    expect(res.changes.map((c) => c.reason)).toEqual(['older']);
    const won = merge(r, replaced(6500, 'User'), 7100).record;
    const twice = merge(won, replaced(6500, 'User'), 7200);
    expect(twice.changed).toBe(false);
  });

  it('is order-insensitive with the read that confirms our write', () => {
    const r = written();
    const confirm = snap('hubspot', 7000, { email: 'a@b.co', title: 'SF' });
    const a = merge(merge(r, replaced(6500, 'User'), 7100).record, confirm, 7200).record;
    const b = merge(merge(r, confirm, 7100).record, replaced(6500, 'User'), 7200).record;
    expect(a.fields.title?.value).toBe('User');
    expect(b.fields.title?.value).toBe('User');
    expect(a.shadows).toEqual(b.shadows);
  });
});
