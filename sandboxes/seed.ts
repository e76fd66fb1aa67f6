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

export interface SideRecord<T> {
  record: T;
  /** Last-modified time on that side, ms since epoch. */
  modifiedAt: number;
}

export interface SeedSide {
  companies: SideRecord<SeedCompany>[];
  people: SideRecord<SeedPerson>[];
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
  return dataset;
}
