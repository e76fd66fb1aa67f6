// Ingest queue consumer: merge source snapshots into canonical records. No SaaS client in this bundle.
import { createIngestHandler } from '../runtime/handlers.ts';

export const handler = createIngestHandler();
