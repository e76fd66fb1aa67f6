// Write queue consumer for hubspot: push field-level diffs of canonical records in API batches.
import { HubSpotConnector } from '../connectors/hubspot/index.ts';
import { loadCredentials } from '../runtime/credentials.ts';
import { createWriteHandler } from '../runtime/handlers.ts';

const credentials = await loadCredentials();
export const handler = createWriteHandler(new HubSpotConnector(credentials.hubspot));
