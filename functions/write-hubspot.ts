// Write queue consumer for hubspot: push field-level diffs of canonical records in API batches.
import { HubSpotConnector } from '../connectors/hubspot/index.ts';
import { appConfig } from '../runtime/app-config.ts';
import { loadCredentials } from '../runtime/credentials.ts';
import { createWriteHandler } from '../runtime/handlers.ts';

const config = await appConfig();
const credentials = await loadCredentials();
export const handler = createWriteHandler(
  new HubSpotConnector(credentials.hubspot, config.systems.hubspot),
  config,
);
