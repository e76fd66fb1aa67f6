// Webhook receiver behind the HTTP API: verify, drop duplicates, queue notices, answer within a second.
// Carries no SaaS client: the pollers read the records the notices name.
import { SYSTEMS } from '../connectors/systems.ts';
import { noticeQueueEnv, requireEnv } from '../runtime/config.ts';
import { loadWebhookSettings } from '../runtime/credentials.ts';
import { SqsQueue } from '../runtime/queue.ts';
import { DynamoStore } from '../runtime/store.ts';
import { createWebhookRoute } from '../runtime/webhook.ts';

export const handler = createWebhookRoute({
  store: new DynamoStore(requireEnv('TABLE_NAME')),
  queue: new SqsQueue(),
  noticeQueues: Object.fromEntries(SYSTEMS.map((s) => [s, requireEnv(noticeQueueEnv(s))])),
  settings: await loadWebhookSettings(),
  now: Date.now,
});
