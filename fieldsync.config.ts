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
    deal: {
      salesforce: 'Opportunity',
      hubspot: 'deals',
      // Deals have no natural key: they are matched only by link (records fieldsync created or linked).
      matchKeys: [],
      deletes: 'ignore',
      fields: {
        name: { type: 'string', salesforce: 'Name', hubspot: 'dealname' },
        // Canonical values are the Salesforce picklist values. Stages without a HubSpot counterpart in the
        // default pipeline (Value Proposition, Id. Decision Makers, Perception Analysis) are not mapped:
        // mapping two stages onto one HubSpot value would turn the echo into a different stage.
        stage: {
          type: 'enum',
          salesforce: 'StageName',
          hubspot: 'dealstage',
          values: {
            hubspot: {
              Prospecting: 'appointmentscheduled',
              Qualification: 'qualifiedtobuy',
              'Needs Analysis': 'presentationscheduled',
              'Proposal/Price Quote': 'decisionmakerboughtin',
              'Negotiation/Review': 'contractsent',
              'Closed Won': 'closedwon',
              'Closed Lost': 'closedlost',
            },
          },
        },
        amount: { type: 'number', salesforce: 'Amount', hubspot: 'amount' },
        closeDate: { type: 'date', salesforce: 'CloseDate', hubspot: 'closedate' },
        company: {
          type: 'reference',
          to: 'company',
          salesforce: 'AccountId',
          hubspot: { association: 'companies' },
        },
        // The primary contact (Salesforce sets ContactId on create only).
        contact: {
          type: 'reference',
          to: 'contact',
          salesforce: 'ContactId',
          hubspot: { association: 'contacts' },
        },
      },
    },
  },
});
