// Scheduled poller for hubspot: queue changes since the stored cursor for ingest.
import { HubSpotConnector } from '../connectors/hubspot/index.ts';
import { appConfig } from '../runtime/app-config.ts';
import { loadCredentials } from '../runtime/credentials.ts';
import { createPollHandler } from '../runtime/handlers.ts';

const config = await appConfig();
const credentials = await loadCredentials();
export const handler = createPollHandler(
  new HubSpotConnector(credentials.hubspot, config.systems.hubspot),
  config,
);
