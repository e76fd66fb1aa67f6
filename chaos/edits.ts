// User edits made while a scenario runs, and the ledger of every one of them: which system, which
// record (by its match key, so the check does not trust fieldsync's own links), which field, which
// value, when. Edits are drawn from the scenario's seeded PRNG; every value is unique, so a value
// found in a system can only have come from that one edit.
import type { SystemName } from '../connectors/systems.ts';
import { normalizeDomain, normalizeEmail } from '../engine/index.ts';
import type { HsObjectType, HubSpotSandbox } from '../sandboxes/hubspot/index.ts';
import {
  parseDateTime,
  type SalesforceSandbox,
  type SfRecord,
  type SObjectName,
} from '../sandboxes/salesforce/index.ts';

export type ChaosObject = 'contact' | 'company';

/** The edited fields: canonical name -> Salesforce field, HubSpot property. Match keys are never edited. */
export const EDITABLE: Readonly<Record<ChaosObject, Readonly<Record<string, { sf: string; hs: string }>>>> = {
  contact: {
    firstName: { sf: 'FirstName', hs: 'firstname' },
    lastName: { sf: 'LastName', hs: 'lastname' },
    title: { sf: 'Title', hs: 'jobtitle' },
  },
  company: {
    name: { sf: 'Name', hs: 'name' },
  },
};

const NATIVE: Readonly<
  Record<ChaosObject, { sf: SObjectName; hs: HsObjectType; sfKey: string; hsKey: string }>
> = {
  contact: { sf: 'Contact', hs: 'contacts', sfKey: 'Email', hsKey: 'email' },
  company: { sf: 'Account', hs: 'companies', sfKey: 'Website', hsKey: 'domain' },
};

export interface LedgerEntry {
  seq: number;
  /** Wall-clock time the edit was made, ms. */
  at: number;
  system: SystemName;
  object: ChaosObject;
  /** The record's normalized match key (email, domain). */
  key: string;
  /** The record's id in `system`. */
  nativeId: string;
  field: string;
  value: string;
  kind: EditKind;
  /** The modification time the system gave the edit (Salesforce: SystemModstamp, whole seconds; HubSpot:
   * updatedAt, ms): the ground truth the last-writer-wins order is checked against. */
  sourceTime: number;
}

export type EditKind =
  | 'update'
  | 'race-same-field'
  | 'race-other-fields'
  | 'create'
  | 'create-both'
  | 'saved-twice-in-one-second';

/** A record on both sides: its match key and its ids there. */
export interface Pair {
  key: string;
  sf: string;
  hs: string;
}

/** Relative weights of the user actions. */
export type ActionMix = Partial<Record<EditKind, number>>;

/**
 * One field edited on one side; the same field edited on both sides at once (a conflict); different
 * fields edited on both sides; a new contact on one side. (The same new person created on both sides at
 * once is the create-race scenario's.)
 */
export const DEFAULT_MIX: ActionMix = {
  update: 0.6,
  'race-same-field': 0.15,
  'race-other-fields': 0.1,
  create: 0.15,
};

export function keyOf(object: ChaosObject, raw: unknown): string {
  const text = typeof raw === 'string' ? raw : '';
  return (object === 'contact' ? normalizeEmail(text) : normalizeDomain(text)) ?? '';
}

/** A record as a user sees it in one system: its id and field values by canonical name. */
export interface SeenRecord {
  id: string;
  values: Record<string, string | null>;
}

export function findRecord(
  boxes: { sf: SalesforceSandbox; hs: HubSpotSandbox },
  system: SystemName,
  object: ChaosObject,
  key: string,
): SeenRecord[] {
  const n = NATIVE[object];
  const fields = Object.entries(EDITABLE[object]);
  const text = (v: unknown) => (typeof v === 'string' ? v : v === null || v === undefined ? null : String(v));
  if (system === 'salesforce')
    return boxes.sf
      .list(n.sf)
      .filter((r) => keyOf(object, r[n.sfKey]) === key)
      .map((r) => ({ id: r.Id, values: Object.fromEntries(fields.map(([f, m]) => [f, text(r[m.sf])])) }));
  return boxes.hs
    .list(n.hs)
    .filter((r) => keyOf(object, r.properties[n.hsKey]) === key)
    .map((r) => ({
      id: r.id,
      values: Object.fromEntries(fields.map(([f, m]) => [f, text(r.properties[m.hs])])),
    }));
}

/** Every live record's match key in one system (for the duplicate check). */
export function keysIn(
  boxes: { sf: SalesforceSandbox; hs: HubSpotSandbox },
  system: SystemName,
  object: ChaosObject,
): string[] {
  const n = NATIVE[object];
  return system === 'salesforce'
    ? boxes.sf.list(n.sf).map((r) => keyOf(object, r[n.sfKey]))
    : boxes.hs.list(n.hs).map((r) => keyOf(object, r.properties[n.hsKey]));
}

/**
 * Makes seeded user edits in both sandboxes through their direct API (a user in the app) and keeps
 * the ledger. Records are picked among those present on both sides when the edit is made.
 */
export class Editor {
  readonly ledger: LedgerEntry[] = [];
  readonly kinds: Record<string, number> = {};
  private seq = 0;
  private readonly sf: SalesforceSandbox;
  private readonly hs: HubSpotSandbox;
  private readonly rand: () => number;
  private readonly tag: string;

  constructor(boxes: { sf: SalesforceSandbox; hs: HubSpotSandbox }, rand: () => number, seed: number) {
    this.sf = boxes.sf;
    this.hs = boxes.hs;
    this.rand = rand;
    this.tag = String(seed);
  }

  /** One random user action (one or two edits, or a create), drawn from `mix`; returns its ledger entries. */
  act(mix: ActionMix = DEFAULT_MIX): LedgerEntry[] {
    let roll = this.rand() * Object.values(mix).reduce((a, b) => a + (b ?? 0), 0);
    let kind: EditKind = 'update';
    for (const [k, weight] of Object.entries(mix) as [EditKind, number][]) {
      kind = k;
      roll -= weight;
      if (roll < 0) break;
    }
    return this.perform(kind);
  }

  perform(kind: EditKind): LedgerEntry[] {
    this.kinds[kind] = (this.kinds[kind] ?? 0) + 1;
    const before = this.ledger.length;
    if (kind === 'create' || kind === 'create-both') this.create(kind);
    else this.edit(kind);
    return this.ledger.slice(before);
  }

  private pick<T>(items: readonly T[]): T | undefined {
    return items[Math.floor(this.rand() * items.length)];
  }

  /** A value no other edit has (`prefix` first: the sf-same-second scenario orders its values). */
  value(field: string, prefix = ''): string {
    this.seq++;
    const label =
      field === 'title' ? 'Title' : field === 'name' ? 'Company' : field.slice(0, 1).toUpperCase();
    return `${prefix}${label} c${this.tag}x${this.seq}`;
  }

  /** A record present on both sides (its ids there), or undefined if there is none yet. */
  pair(object: ChaosObject): Pair | undefined {
    const n = NATIVE[object];
    const hsByKey = new Map<string, string>();
    for (const r of this.hs.list(n.hs)) hsByKey.set(keyOf(object, r.properties[n.hsKey]), r.id);
    const pairs = this.sf.list(n.sf).flatMap((r) => {
      const key = keyOf(object, r[n.sfKey]);
      const hs = hsByKey.get(key);
      return key === '' || hs === undefined ? [] : [{ key, sf: r.Id, hs }];
    });
    return this.pick(pairs);
  }

  private edit(kind: EditKind): void {
    const object: ChaosObject = this.rand() < 0.8 ? 'contact' : 'company';
    const target = this.pair(object);
    if (target === undefined) return;
    const fields = Object.keys(EDITABLE[object]);
    const field = this.pick(fields) ?? fields[0] ?? '';
    const first: SystemName = this.rand() < 0.5 ? 'salesforce' : 'hubspot';
    const other: SystemName = first === 'salesforce' ? 'hubspot' : 'salesforce';
    this.apply(first, object, target, field, kind);
    if (kind === 'race-same-field') this.apply(other, object, target, field, kind);
    if (kind === 'race-other-fields') {
      const second = fields.find((f) => f !== field);
      if (second !== undefined) this.apply(other, object, target, second, kind);
    }
  }

  /**
   * A user edit, unless it would save a Salesforce field a second time within one second: that is the
   * sf-same-second scenario's known issue, kept out of the other scenarios so they test the rest.
   */
  private apply(
    system: SystemName,
    object: ChaosObject,
    target: Pair,
    field: string,
    kind: EditKind,
  ): LedgerEntry | undefined {
    const second = Math.floor(Date.now() / 1000) * 1000;
    const last = this.ledger.findLast(
      (e) => e.system === 'salesforce' && e.nativeId === target.sf && e.field === field,
    );
    if (system === 'salesforce' && last !== undefined && last.sourceTime >= second) {
      this.kinds['skipped: a Salesforce field saved twice in one second'] =
        (this.kinds['skipped: a Salesforce field saved twice in one second'] ?? 0) + 1;
      return undefined;
    }
    return this.update(system, object, target, field, kind);
  }

  /** One field of a record present on both sides, edited in `system` (with `value`, default a fresh one). */
  update(
    system: SystemName,
    object: ChaosObject,
    target: Pair,
    field: string,
    kind: EditKind,
    value = this.value(field),
  ): LedgerEntry {
    const mapping = EDITABLE[object][field];
    if (mapping === undefined) throw new Error(`not an editable field: ${object}.${field}`);
    const n = NATIVE[object];
    const at = Date.now();
    const sourceTime =
      system === 'salesforce'
        ? sfTime(this.sf.update(n.sf, target.sf, { [mapping.sf]: value }))
        : Date.parse(this.hs.update(n.hs, target.hs, { [mapping.hs]: value }).updatedAt);
    const entry: LedgerEntry = {
      seq: this.ledger.length,
      at,
      system,
      object,
      key: target.key,
      nativeId: system === 'salesforce' ? target.sf : target.hs,
      field,
      value,
      kind,
      sourceTime,
    };
    this.ledger.push(entry);
    return entry;
  }

  /** A new contact on one side, or the same new person on both (the email typed differently). */
  private create(kind: EditKind): void {
    this.seq++;
    const email = `chaos.${this.tag}.${this.seq}@chaos-${this.tag}.example`;
    const sides: SystemName[] =
      kind === 'create-both' ? ['salesforce', 'hubspot'] : [this.rand() < 0.5 ? 'salesforce' : 'hubspot'];
    for (const system of sides) {
      const firstName = this.value('firstName');
      const lastName = this.value('lastName');
      const at = Date.now();
      const made =
        system === 'salesforce'
          ? this.sf.create('Contact', { FirstName: firstName, LastName: lastName, Email: email })
          : this.hs.create('contacts', {
              firstname: firstName,
              lastname: lastName,
              // HubSpot users type emails their own way; fieldsync matches on the normalized address.
              email: kind === 'create-both' ? `  ${email.toUpperCase()} ` : email,
            });
      const nativeId = 'Id' in made ? made.Id : made.id;
      const sourceTime = 'Id' in made ? sfTime(made) : Date.parse(made.updatedAt);
      for (const [field, value] of [
        ['firstName', firstName],
        ['lastName', lastName],
      ] as const)
        this.ledger.push({
          seq: this.ledger.length,
          at,
          system,
          object: 'contact',
          key: email,
          nativeId,
          field,
          value,
          kind,
          sourceTime,
        });
    }
  }
}

function sfTime(record: SfRecord): number {
  const stamp = parseDateTime(String(record.SystemModstamp ?? ''));
  if (stamp === undefined) throw new Error(`Salesforce record ${record.Id} has no SystemModstamp`);
  return stamp;
}
