// Queue message bodies, validated on receipt. Ingest messages carry source snapshots; write
// messages are signals ("these canonical records need writing"), never payloads.
import { z } from 'zod';
import { isSystemName, SYSTEMS } from '../connectors/systems.ts';
import { OBJECT_TYPES } from '../engine/index.ts';

/** Only the synced systems: a change under any other name would be merged (and could win) like a real one. */
const system = z.string().refine((s): boolean => isSystemName(s), `expected one of ${SYSTEMS.join(', ')}`);
/** Epoch ms within the range of a JS Date: 1e300 passes z.number() but no DynamoDB number holds it. */
const time = z.number().min(-8.64e15).max(8.64e15);

export const sourceChangeSchema = z.object({
  system,
  object: z.enum(OBJECT_TYPES),
  externalId: z.string().min(1),
  modifiedAt: time,
  fields: z.record(z.string(), z.string().nullable()),
  refs: z.record(z.string(), z.string().nullable()),
  fieldsyncId: z.string().optional(),
  deleted: z.object({ at: time, mergedInto: z.string().optional() }).optional(),
  mergedIds: z.array(z.string()).optional(),
  reconcile: z.literal(true).optional(),
  fieldTimes: z.record(z.string(), time).optional(),
  replaced: z.literal(true).optional(),
  readAt: time.optional(),
});

export const ingestMessageSchema = z.object({
  v: z.literal(1),
  changes: z.array(sourceChangeSchema),
  attempt: z.number().int().min(0).default(0),
  /** The config's fingerprint, when a poller found the deployed config changed: re-settle existing records. */
  applyConfig: z.string().optional(),
});
export type IngestMessage = z.infer<typeof ingestMessageSchema>;

export const writeSignalSchema = z.object({
  v: z.literal(1),
  object: z.enum(OBJECT_TYPES),
  ids: z.array(z.string().min(1)).min(1),
  attempt: z.number().int().min(0).default(0),
});
export type WriteSignal = z.infer<typeof writeSignalSchema>;

export const changeNoticeSchema = z.object({
  system,
  object: z.enum(OBJECT_TYPES),
  externalId: z.string().min(1),
  occurredAt: time,
  eventId: z.string().min(1),
  kind: z.enum(['change', 'delete', 'merge', 'association', 'restore']),
  mergedIds: z.array(z.string()).optional(),
  newId: z.string().optional(),
  propertyName: z.string().optional(),
});

/** Webhook notices for one system, consumed by that system's poller (it has the client to read them). */
export const noticeMessageSchema = z.object({
  v: z.literal(1),
  notices: z.array(changeNoticeSchema).min(1),
});
export type NoticeMessage = z.infer<typeof noticeMessageSchema>;
