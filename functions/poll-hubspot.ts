// hubspot poller: on its schedule, queue changes since the stored cursor for ingest; on its notice
// queue, read the records webhooks named and queue them the same way.
import { HubSpotConnector } from '../connectors/hubspot/index.ts';
import { appConfig } from '../runtime/app-config.ts';
import { loadCredentials } from '../runtime/credentials.ts';
import { createNoticeHandler, createPollHandler, isSqsEvent } from '../runtime/handlers.ts';

const config = await appConfig();
const credentials = await loadCredentials();
const connector = new HubSpotConnector(credentials.hubspot, config.systems.hubspot);
const poll = createPollHandler(connector, config);
const notices = createNoticeHandler(connector, config);

export const handler = async (event?: unknown) => (isSqsEvent(event) ? notices(event) : poll(event));
