// What fieldsync syncs, and how. Edit this file to map a custom field, change a field's policy or
// direction, or filter what is synced; `fieldsync sync` validates it before anything is written.
import { defineConfig } from './config/index.ts';

export default defineConfig({
  defaultCountry: 'US',
  conflictWindowSeconds: 5,
  priority: { salesforce: 2, hubspot: 1 },
  objects: {
    company: {
      salesforce: 'Account',
      hubspot: 'companies',
      matchKeys: ['domain'],
      deletes: 'quarantine',
      fields: {
        name: { type: 'string', salesforce: 'Name', hubspot: 'name' },
        domain: { type: 'domain', salesforce: 'Website', hubspot: 'domain' },
        phone: { type: 'phone', salesforce: 'Phone', hubspot: 'phone' },
        industry: { type: 'string', salesforce: 'Industry', hubspot: 'industry' },
      },
    },
    contact: {
      salesforce: 'Contact',
      hubspot: 'contacts',
      matchKeys: ['email'],
      deletes: 'propagate',
      fields: {
        email: { type: 'email', salesforce: 'Email', hubspot: 'email' },
        firstName: { type: 'string', salesforce: 'FirstName', hubspot: 'firstname' },
        lastName: { type: 'string', salesforce: 'LastName', hubspot: 'lastname' },
        phone: { type: 'phone', salesforce: 'Phone', hubspot: 'phone' },
        title: { type: 'string', salesforce: 'Title', hubspot: 'jobtitle' },
        company: {
          type: 'reference',
          to: 'company',
          salesforce: 'AccountId',
          hubspot: { association: 'companies' },
        },
      },
    },
  },
});
