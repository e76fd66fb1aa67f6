// The sandbox's webhook sender, behaving like HubSpot's (Webhooks API doc; reference B8): changes
// become events, collected for `batchMs` and POSTed as JSON arrays of at most 100, signed with v3
// headers; non-2xx answers and connection errors are retried on a compressed schedule. Seeded faults
// add what HubSpot does in the wild: duplicates, reordering, delays, and (harsher) lost events.
// It signs on its own rather than with the connector's helper, so a signing bug cannot hide itself.
import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { prng } from '../seed.ts';
import type { HsObjectType } from './schema.ts';
import type { StoreChange } from './store.ts';

export interface WebhookFaults {
  /** Default 1. */
  seed?: number;
  /** Share of events sent a second time, in a later batch. */
  duplicateRate?: number;
  /** Shuffle the events within each batch. */
  reorder?: boolean;
  /** Hold each batch this long before its first attempt. */
  delayMs?: number;
  /** Share of events lost (never delivered). */
  dropRate?: number;
}

export interface WebhookOptions {
  /** The exact URL events are POSTed to; the v3 signature covers it. */
  targetUrl: string;
  clientSecret: string;
  /** Default 1. */
  appId?: number;
  /** Collect events this long before sending; default 50. */
  batchMs?: number;
  /** Events per request; default and HubSpot's maximum 100. */
  maxBatch?: number;
  /**
   * HubSpot tries 10 times over 24 h; here retry n waits min(baseMs * 2^(n-1), baseMs * 8).
   * Defaults: 10 attempts, baseMs 200.
   */
  retry?: { attempts: number; baseMs: number };
  faults?: WebhookFaults;
}

export interface WebhookStats {
  /** POST requests made, retries included. */
  sent: number;
  /** Events in requests the target acknowledged with a 2xx (a duplicate counts again). */
  delivered: number;
  /** Events given up on after the last attempt. */
  failed: number;
  /** Events lost by the `dropRate` fault. */
  dropped: number;
  /** Events sent a second time by the `duplicateRate` fault. */
  duplicated: number;
  /** POST requests after a failed attempt. */
  retries: number;
}

export interface SandboxWebhooks {
  readonly stats: Readonly<WebhookStats>;
  /** Sends everything pending now and waits until every batch is delivered or given up on. */
  flush(): Promise<void>;
  /** Sets or replaces the target (undefined: stop sending; events from then on are not kept). */
  configure(options: WebhookOptions | undefined): void;
}

/** The event HubSpot POSTs (field order as in HubSpot's examples). */
export interface HsWebhookEvent {
  eventId: number;
  subscriptionId: number;
  portalId: number;
  appId: number;
  occurredAt: number;
  subscriptionType: string;
  attemptNumber: number;
  objectId?: number;
  changeSource: string;
  sourceId: string;
  changeFlag?: string;
  propertyName?: string;
  propertyValue?: string;
  primaryObjectId?: number;
  mergedObjectIds?: number[];
  newObjectId?: number;
  numberOfPropertiesMoved?: number;
  associationType?: string;
  fromObjectId?: number;
  toObjectId?: number;
  associationRemoved?: boolean;
  isPrimaryAssociation?: boolean;
}

export const SANDBOX_PORTAL_ID = 62515;
/** "Your endpoint … must respond within 5 seconds" (Webhooks API, Retries). */
const TIMEOUT_MS = 5_000;

const SINGULAR: Record<HsObjectType, string> = { contacts: 'contact', companies: 'company', deals: 'deal' };
const ACTIONS = ['creation', 'deletion', 'propertyChange', 'merge', 'associationChange'] as const;
/** One subscription per object and action (HubSpot has one per property for propertyChange). */
const SUBSCRIPTION_IDS = new Map<string, number>(
  Object.values(SINGULAR).flatMap((object, i) =>
    ACTIONS.map((action, j): [string, number] => [`${object}.${action}`, 1000 + i * 10 + j]),
  ),
);

// Validating requests (v3): HubSpot signs the URI with these escapes decoded.
const DECODED: Readonly<Record<string, string>> = {
  '%3A': ':',
  '%2F': '/',
  '%3F': '?',
  '%40': '@',
  '%21': '!',
  '%24': '$',
  '%27': "'",
  '%28': '(',
  '%29': ')',
  '%2A': '*',
  '%2C': ',',
  '%3B': ';',
};

function v3Headers(url: string, body: string, secret: string, timestamp: number): Record<string, string> {
  const uri = url.replace(/%[0-9A-Fa-f]{2}/g, (e) => DECODED[e.toUpperCase()] ?? e);
  const signature = createHmac('sha256', secret)
    .update(`POST${uri}${body}${timestamp}`, 'utf8')
    .digest('base64');
  return {
    'Content-Type': 'application/json',
    'X-HubSpot-Signature-v3': signature,
    'X-HubSpot-Request-Timestamp': String(timestamp),
  };
}

type EventBody = Omit<HsWebhookEvent, 'eventId' | 'subscriptionId' | 'portalId' | 'appId' | 'attemptNumber'>;

function eventsOf(change: StoreChange, appId: number): { type: string; body: EventBody }[] {
  const common = {
    occurredAt: change.at,
    changeSource: change.source,
    // [GUESS] app changes carry the app id, user changes a user id.
    sourceId: change.source === 'INTEGRATION' ? String(appId) : 'userId:1',
  };
  switch (change.kind) {
    case 'creation':
    case 'deletion': {
      const type = `${SINGULAR[change.type]}.${change.kind}`;
      const flag = change.kind === 'creation' ? { changeFlag: 'CREATED' } : {};
      return [{ type, body: { ...common, subscriptionType: type, objectId: Number(change.id), ...flag } }];
    }
    case 'propertyChange': {
      const type = `${SINGULAR[change.type]}.propertyChange`;
      const body = {
        ...common,
        subscriptionType: type,
        objectId: Number(change.id),
        propertyName: change.name,
        propertyValue: change.value ?? '',
      };
      return [{ type, body }];
    }
    case 'merge': {
      const type = `${SINGULAR[change.type]}.merge`;
      const body = {
        ...common,
        subscriptionType: type,
        objectId: Number(change.resultId),
        primaryObjectId: Number(change.primaryId),
        mergedObjectIds: [Number(change.secondaryId)],
        newObjectId: Number(change.resultId),
        numberOfPropertiesMoved: change.propertiesMoved,
      };
      return [{ type, body }];
    }
    case 'association': {
      // One event per direction, e.g. CONTACT_TO_COMPANY and COMPANY_TO_CONTACT.
      const sides: [HsObjectType, string, HsObjectType, string][] = [
        [change.ownerType, change.ownerId, change.otherType, change.otherId],
        [change.otherType, change.otherId, change.ownerType, change.ownerId],
      ];
      return sides.map(([fromType, fromId, toType, toId]) => {
        const type = `${SINGULAR[fromType]}.associationChange`;
        const associationType = `${SINGULAR[fromType]}_TO_${SINGULAR[toType]}`.toUpperCase();
        const body = {
          ...common,
          subscriptionType: type,
          associationType,
          fromObjectId: Number(fromId),
          toObjectId: Number(toId),
          associationRemoved: change.removed,
          isPrimaryAssociation: change.primary,
        };
        return { type, body };
      });
    }
  }
}

export class WebhookSender implements SandboxWebhooks {
  readonly stats: WebhookStats = { sent: 0, delivered: 0, failed: 0, dropped: 0, duplicated: 0, retries: 0 };
  private options: WebhookOptions | undefined;
  private random: () => number = prng(1);
  private nextEventId = 1;
  private pending: HsWebhookEvent[] = [];
  /** Duplicates waiting for a later batch. */
  private carried: HsWebhookEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly inflight = new Set<Promise<void>>();
  private readonly closing = new AbortController();
  private readonly now: () => number;

  constructor(now: () => number, options?: WebhookOptions) {
    this.now = now;
    this.configure(options);
  }

  configure(options: WebhookOptions | undefined): void {
    this.options = options;
    this.random = prng(options?.faults?.seed ?? 1);
  }

  /** Turns a store change into events (nothing without a target). */
  record(change: StoreChange): void {
    const options = this.options;
    if (options === undefined || this.closing.signal.aborted) return;
    const appId = options.appId ?? 1;
    for (const { type, body } of eventsOf(change, appId)) {
      this.pending.push({
        eventId: this.nextEventId++,
        subscriptionId: SUBSCRIPTION_IDS.get(type) ?? 0,
        portalId: SANDBOX_PORTAL_ID,
        appId,
        attemptNumber: 0,
        ...body,
      });
    }
    if (this.pending.length >= this.maxBatch()) this.cut();
    else this.schedule();
  }

  async flush(): Promise<void> {
    while (this.pending.length > 0 || this.carried.length > 0 || this.inflight.size > 0) {
      this.cut();
      await Promise.all(this.inflight);
    }
  }

  async close(): Promise<void> {
    this.closing.abort();
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = [];
    this.carried = [];
    await Promise.all(this.inflight);
  }

  private maxBatch(): number {
    return Math.max(1, Math.min(100, this.options?.maxBatch ?? 100));
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.cut();
    }, this.options?.batchMs ?? 50);
  }

  /** Sends what is pending now: carried duplicates first, then new events after the faults. */
  private cut(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const faults = this.options?.faults ?? {};
    const events = this.carried;
    this.carried = [];
    for (const event of this.pending) {
      if (this.random() < (faults.dropRate ?? 0)) {
        this.stats.dropped++;
        continue;
      }
      if (this.random() < (faults.duplicateRate ?? 0)) {
        this.stats.duplicated++;
        this.carried.push(event);
      }
      events.push(event);
    }
    this.pending = [];
    if (this.carried.length > 0) this.schedule();
    const size = this.maxBatch();
    for (let i = 0; i < events.length; i += size) {
      const batch = events.slice(i, i + size);
      if (faults.reorder === true) this.shuffle(batch);
      const delivery = this.deliver(batch, faults.delayMs ?? 0).finally(() => this.inflight.delete(delivery));
      this.inflight.add(delivery);
    }
  }

  private shuffle(batch: HsWebhookEvent[]): void {
    for (let i = batch.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      const a = batch[i];
      const b = batch[j];
      if (a !== undefined && b !== undefined) {
        batch[i] = b;
        batch[j] = a;
      }
    }
  }

  private async deliver(batch: HsWebhookEvent[], delayMs: number): Promise<void> {
    const signal = this.closing.signal;
    try {
      if (delayMs > 0) await sleep(delayMs, undefined, { signal });
      const attempts = Math.max(1, this.options?.retry?.attempts ?? 10);
      for (let attempt = 0; attempt < attempts; attempt++) {
        const options = this.options;
        if (options === undefined) break;
        if (attempt > 0) {
          const base = options.retry?.baseMs ?? 200;
          await sleep(Math.min(base * 2 ** (attempt - 1), base * 8), undefined, { signal });
          this.stats.retries++;
        }
        if (
          await this.post(
            options,
            batch.map((e) => ({ ...e, attemptNumber: attempt })),
          )
        ) {
          this.stats.delivered += batch.length;
          return;
        }
      }
      this.stats.failed += batch.length;
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  }

  /** One attempt: true on a 2xx. Connection errors and timeouts count as failures, as at HubSpot. */
  private async post(options: WebhookOptions, events: HsWebhookEvent[]): Promise<boolean> {
    const body = JSON.stringify(events);
    this.stats.sent++;
    try {
      const res = await fetch(options.targetUrl, {
        method: 'POST',
        headers: v3Headers(options.targetUrl, body, options.clientSecret, this.now()),
        body,
        signal: AbortSignal.any([this.closing.signal, AbortSignal.timeout(TIMEOUT_MS)]),
      });
      await res.arrayBuffer();
      return res.status >= 200 && res.status < 300;
    } catch (error) {
      if (this.closing.signal.aborted) throw error;
      return false;
    }
  }
}
