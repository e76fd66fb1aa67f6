// Reconcile, on its schedule: compare what each system holds with the canonical state (a rotating
// sample within an API-call budget), report drift, queue repairs for ingest. Carries both SaaS clients.
import { HubSpotConnector } from '../connectors/hubspot/index.ts';
import { SalesforceConnector } from '../connectors/salesforce/index.ts';
import { appConfig } from '../runtime/app-config.ts';
import { loadCredentials } from '../runtime/credentials.ts';
import { createReconcileHandler } from '../runtime/reconcile-handler.ts';

const config = await appConfig();
const credentials = await loadCredentials();
const salesforce = new SalesforceConnector(credentials.salesforce, config.systems.salesforce);
const hubspot = new HubSpotConnector(credentials.hubspot, config.systems.hubspot);

export const handler = createReconcileHandler(
  [
    { connector: salesforce, budget: salesforce.budget() },
    { connector: hubspot, budget: hubspot.budget() },
  ],
  config.model,
);
