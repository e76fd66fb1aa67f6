// Deterministic seed data shared by both sandboxes: the same people and companies, some on
// both sides (emails and domains differing in case, whitespace and URL form), some on one side.

export interface SeedCompany {
  key: string;
  name: string;
  /** Bare domain, e.g. `acme-3.com`. Each side renders it its own way. */
  domain: string;
  phone: string;
  industry: string;
}

export interface SeedPerson {
  key: string;
  firstName: string;
  lastName: string;
  email: string;
  phone: string;
  title: string;
  companyKey: string | undefined;
}

/** A neutral deal stage; each side renders it with its own value (see DEAL_STAGES). */
export type DealStage =
  | 'prospecting'
  | 'qualification'
  | 'needs_analysis'
  | 'proposal'
  | 'negotiation'
  | 'closed_won'
  | 'closed_lost';

/** Salesforce StageName ↔ HubSpot dealstage (default pipeline) for each neutral stage. */
export const DEAL_STAGES: Readonly<Record<DealStage, { salesforce: string; hubspot: string }>> = {
  prospecting: { salesforce: 'Prospecting', hubspot: 'appointmentscheduled' },
  qualification: { salesforce: 'Qualification', hubspot: 'qualifiedtobuy' },
  needs_analysis: { salesforce: 'Needs Analysis', hubspot: 'presentationscheduled' },
  proposal: { salesforce: 'Proposal/Price Quote', hubspot: 'decisionmakerboughtin' },
  negotiation: { salesforce: 'Negotiation/Review', hubspot: 'contractsent' },
  closed_won: { salesforce: 'Closed Won', hubspot: 'closedwon' },
  closed_lost: { salesforce: 'Closed Lost', hubspot: 'closedlost' },
};

export interface SeedDeal {
  key: string;
  /** Unique across the dataset, e.g. `Acme 3 Renewal`. */
  name: string;
  /** Always set: a deal is seeded only on the sides where its company exists. */
  companyKey: string;
  /** The primary contact, when that person works at the company on that side. */
  contactKey: string | undefined;
  stage: DealStage;
  amount: number;
  /** `YYYY-MM-DD`. */
  closeDate: string;
}

export interface SideRecord<T> {
  record: T;
  /** Last-modified time on that side, ms since epoch. */
  modifiedAt: number;
}

export interface SeedSide {
  companies: SideRecord<SeedCompany>[];
  people: SideRecord<SeedPerson>[];
  /** Present only when `deals` > 0 was asked for, so older seeds stay byte-identical. */
  deals?: SideRecord<SeedDeal>[];
}

export interface SeedDataset {
  salesforce: SeedSide;
  hubspot: SeedSide;
}

export interface SeedOptions {
  seed?: number;
  /** Number of distinct people across both systems. */
  people?: number;
  /** Number of distinct companies across both systems. */
  companies?: number;
  /** Base time the seeded modification times lie before. */
  now?: number;
  /**
   * Number of distinct deals across both systems; default 0 (no `deals` key at all). Drawn from
   * their own random stream, so people and companies are the same with or without deals.
   */
  deals?: number;
}

/** mulberry32: small, fast, good enough for test data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = ['Ada', 'Grace', 'Alan', 'Linus', 'Margaret', 'Dennis', 'Barbara', 'Ken', 'Frances', 'Edsger'];
const LAST = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Torvalds',
  'Hamilton',
  'Ritchie',
  'Liskov',
  'Thompson',
  'Allen',
];
const TITLES = ['VP Sales', 'RevOps Lead', 'CTO', 'Account Executive', 'Marketing Manager', 'CFO', ''];
const INDUSTRIES = ['Software', 'Finance', 'Retail', 'Healthcare', 'Manufacturing', 'Education'];
const DEAL_KINDS = ['New Business', 'Renewal', 'Upsell', 'Expansion', 'Pilot', 'Services'];
const STAGE_KEYS = Object.keys(DEAL_STAGES).filter((k): k is DealStage => k in DEAL_STAGES);

const WORDS = [
  'Acme',
  'Globex',
  'Initech',
  'Umbrella',
  'Hooli',
  'Vandelay',
  'Stark',
  'Wayne',
  'Tyrell',
  'Wonka',
];

function pick<T>(rand: () => number, items: readonly T[]): T {
  const item = items[Math.floor(rand() * items.length)];
  if (item === undefined) throw new Error('pick from empty list');
  return item;
}

function phone(rand: () => number): string {
  const n = () => Math.floor(rand() * 10);
  return `+1 415 ${n()}${n()}${n()} ${n()}${n()}${n()}${n()}`;
}

type Presence = 'both' | 'salesforce' | 'hubspot';

function presence(rand: () => number): Presence {
  const r = rand();
  return r < 0.5 ? 'both' : r < 0.75 ? 'salesforce' : 'hubspot';
}

/** A variant of an email as a user might have typed it elsewhere: case and whitespace differ. */
function messyEmail(rand: () => number, email: string): string {
  const r = rand();
  if (r < 0.33) return email.toUpperCase();
  if (r < 0.66) return ` ${email[0]?.toUpperCase() ?? ''}${email.slice(1)} `;
  return email;
}

export function seedDataset(options: SeedOptions = {}): SeedDataset {
  const rand = prng(options.seed ?? 42);
  const peopleCount = options.people ?? 60;
  const companyCount = options.companies ?? Math.max(1, Math.round(peopleCount / 3));
  const now = options.now ?? Date.now();
  const day = 86_400_000;
  const past = () => now - Math.floor(rand() * 30 * day) - day;

  const dataset: SeedDataset = {
    salesforce: { companies: [], people: [] },
    hubspot: { companies: [], people: [] },
  };
  const companyPresence = new Map<string, Presence>();

  for (let i = 0; i < companyCount; i++) {
    const word = pick(rand, WORDS);
    const company: SeedCompany = {
      key: `co${i}`,
      name: `${word} ${i}`,
      domain: `${word.toLowerCase()}-${i}.com`,
      phone: phone(rand),
      industry: pick(rand, INDUSTRIES),
    };
    const where = presence(rand);
    companyPresence.set(company.key, where);
    if (where !== 'hubspot') dataset.salesforce.companies.push({ record: company, modifiedAt: past() });
    if (where !== 'salesforce') {
      const domain = rand() < 0.3 ? company.domain.toUpperCase() : company.domain;
      dataset.hubspot.companies.push({ record: { ...company, domain }, modifiedAt: past() });
    }
  }

  for (let i = 0; i < peopleCount; i++) {
    const first = pick(rand, FIRST);
    const last = pick(rand, LAST);
    const companyIndex = Math.floor(rand() * companyCount);
    const companyKey = rand() < 0.8 ? `co${companyIndex}` : undefined;
    const person: SeedPerson = {
      key: `p${i}`,
      firstName: first,
      lastName: last,
      email: `${first}.${last}.${i}@example-${companyIndex}.com`.toLowerCase(),
      phone: phone(rand),
      title: pick(rand, TITLES),
      companyKey,
    };
    const where = presence(rand);
    const onSide = (side: 'salesforce' | 'hubspot'): SeedPerson => {
      // A person is linked to a company only where that company exists on the same side.
      const companyWhere = companyKey === undefined ? undefined : companyPresence.get(companyKey);
      const linked = companyWhere === 'both' || companyWhere === side ? companyKey : undefined;
      return { ...person, companyKey: linked };
    };
    if (where !== 'hubspot')
      dataset.salesforce.people.push({ record: onSide('salesforce'), modifiedAt: past() });
    if (where !== 'salesforce') {
      const hs = onSide('hubspot');
      const variant: SeedPerson =
        where === 'both'
          ? {
              ...hs,
              email: messyEmail(rand, hs.email),
              // The same person often has a different phone or title on the other side.
              phone: rand() < 0.3 ? phone(rand) : hs.phone,
              title: rand() < 0.3 ? pick(rand, TITLES) : hs.title,
            }
          : hs;
      dataset.hubspot.people.push({ record: variant, modifiedAt: past() });
    }
  }
  const dealCount = options.deals ?? 0;
  if (dealCount > 0) addDeals(dataset, options.seed ?? 42, dealCount, companyPresence, now);
  return dataset;
}

/** Deals on the companies of each side; some on both sides (same name and company), some on one. */
function addDeals(
  dataset: SeedDataset,
  seed: number,
  count: number,
  companyPresence: ReadonlyMap<string, Presence>,
  now: number,
): void {
  const rand = prng((seed ^ 0x5eeddea1) >>> 0);
  const day = 86_400_000;
  const past = () => now - Math.floor(rand() * 30 * day) - day;
  const companies = [...companyPresence.keys()];
  const names = new Map<string, string>();
  for (const side of [dataset.salesforce, dataset.hubspot])
    for (const c of side.companies) names.set(c.record.key, c.record.name);
  /** person key → company key, per side (only people linked to a company there). */
  const staff = (side: SeedSide) =>
    new Map(
      side.people.flatMap((p) =>
        p.record.companyKey === undefined ? [] : [[p.record.key, p.record.companyKey] as const],
      ),
    );
  const sides = { salesforce: staff(dataset.salesforce), hubspot: staff(dataset.hubspot) };
  const everyone = [...new Set([...sides.salesforce.keys(), ...sides.hubspot.keys()])];
  // Who works at each company on either side, in `everyone` order: one pass instead of a scan of
  // everyone per deal (quadratic, seconds at 20,000 people).
  const staffOf = new Map<string, string[]>();
  for (const k of everyone) {
    const at = new Set([sides.salesforce.get(k), sides.hubspot.get(k)]);
    for (const companyKey of at) {
      if (companyKey === undefined) continue;
      const list = staffOf.get(companyKey) ?? [];
      list.push(k);
      staffOf.set(companyKey, list);
    }
  }
  dataset.salesforce.deals = [];
  dataset.hubspot.deals = [];
  for (let i = 0; i < count; i++) {
    const companyKey = pick(rand, companies);
    const companyWhere = companyPresence.get(companyKey) ?? 'both';
    const dealWhere = companyWhere === 'both' ? presence(rand) : companyWhere;
    const candidates = staffOf.get(companyKey) ?? [];
    const contact = rand() < 0.7 && candidates.length > 0 ? pick(rand, candidates) : undefined;
    const closeDate = new Date(now + Math.floor((rand() * 180 - 60) * day)).toISOString().slice(0, 10);
    const deal: SeedDeal = {
      key: `d${i}`,
      name: `${names.get(companyKey) ?? companyKey} ${pick(rand, DEAL_KINDS)} ${i}`,
      companyKey,
      contactKey: contact,
      stage: pick(rand, STAGE_KEYS),
      amount: (1 + Math.floor(rand() * 200)) * 500,
      closeDate,
    };
    const onSide = (side: 'salesforce' | 'hubspot'): SeedDeal => ({
      ...deal,
      contactKey: contact !== undefined && sides[side].get(contact) === companyKey ? contact : undefined,
    });
    if (dealWhere !== 'hubspot')
      dataset.salesforce.deals.push({ record: onSide('salesforce'), modifiedAt: past() });
    if (dealWhere !== 'salesforce') {
      const hs = onSide('hubspot');
      // On both sides, the amount or stage sometimes differs, as if edited on one side only.
      const variant: SeedDeal =
        dealWhere === 'both' && rand() < 0.3
          ? { ...hs, amount: hs.amount + 500, stage: rand() < 0.5 ? pick(rand, STAGE_KEYS) : hs.stage }
          : hs;
      dataset.hubspot.deals.push({ record: variant, modifiedAt: past() });
    }
  }
}
