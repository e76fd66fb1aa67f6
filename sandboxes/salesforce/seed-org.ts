// Loads the Salesforce side of the shared seed dataset into a store.
import { DEAL_STAGES, type SeedOptions, seedDataset } from '../seed.ts';
import type { SalesforceStore } from './store.ts';

const DAY = 86_400_000;

/** Website as different users typed it: `https://www.x.com/`, `x.com` or `http://X.COM`. */
export function renderWebsite(domain: string, index: number): string {
  switch (index % 3) {
    case 0:
      return `https://www.${domain}/`;
    case 1:
      return domain;
    default:
      return `http://${domain.toUpperCase()}`;
  }
}

export function seedOrg(store: SalesforceStore, options: SeedOptions): void {
  const side = seedDataset(options).salesforce;
  const accountIds = new Map<string, string>();
  side.companies.forEach(({ record: c, modifiedAt }, i) => {
    const account = store.seed(
      'Account',
      { Name: c.name, Website: renderWebsite(c.domain, i), Phone: c.phone, Industry: c.industry },
      modifiedAt,
      modifiedAt - (i % 7) * DAY,
    );
    accountIds.set(c.key, account.Id);
  });
  const contactIds = new Map<string, string>();
  side.people.forEach(({ record: p, modifiedAt }, i) => {
    const contact = store.seed(
      'Contact',
      {
        FirstName: p.firstName,
        LastName: p.lastName,
        Email: p.email,
        Phone: p.phone,
        Title: p.title,
        AccountId: p.companyKey === undefined ? null : (accountIds.get(p.companyKey) ?? null),
      },
      modifiedAt,
      modifiedAt - (i % 7) * DAY,
    );
    contactIds.set(p.key, contact.Id);
  });
  (side.deals ?? []).forEach(({ record: d, modifiedAt }, i) => {
    store.seed(
      'Opportunity',
      {
        Name: d.name,
        StageName: DEAL_STAGES[d.stage].salesforce,
        Amount: d.amount,
        CloseDate: d.closeDate,
        AccountId: accountIds.get(d.companyKey) ?? null,
        ContactId: d.contactKey === undefined ? null : (contactIds.get(d.contactKey) ?? null),
      },
      modifiedAt,
      modifiedAt - (i % 7) * DAY,
    );
  });
}
