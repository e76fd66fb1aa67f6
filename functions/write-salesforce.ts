// Write queue consumer for salesforce: push field-level diffs of canonical records in API batches.
import { SalesforceConnector } from '../connectors/salesforce/index.ts';
import { appConfig } from '../runtime/app-config.ts';
import { loadCredentials } from '../runtime/credentials.ts';
import { createWriteHandler } from '../runtime/handlers.ts';

const config = await appConfig();
const credentials = await loadCredentials();
export const handler = createWriteHandler(
  new SalesforceConnector(credentials.salesforce, config.systems.salesforce),
  config,
);
