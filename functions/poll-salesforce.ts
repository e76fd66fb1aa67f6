// Scheduled poller for salesforce: queue changes since the stored cursor for ingest.
import { SalesforceConnector } from '../connectors/salesforce/index.ts';
import { appConfig } from '../runtime/app-config.ts';
import { loadCredentials } from '../runtime/credentials.ts';
import { createPollHandler } from '../runtime/handlers.ts';

const config = await appConfig();
const credentials = await loadCredentials();
export const handler = createPollHandler(
  new SalesforceConnector(credentials.salesforce, config.systems.salesforce),
  config,
);
