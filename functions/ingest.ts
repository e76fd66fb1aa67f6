// Ingest queue consumer: merge source snapshots into canonical records. No SaaS client in this bundle.
import { appConfig } from '../runtime/app-config.ts';
import { createIngestHandler } from '../runtime/handlers.ts';

export const handler = createIngestHandler(await appConfig());
