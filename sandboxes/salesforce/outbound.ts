// Outbound Messages from the sandbox org: every committed create/update of a configured sObject
// queues a notification; envelopes of up to 100 are POSTed as SOAP 1.1 and retried until the
// receiver answers with `<Ack>true</Ack>`. At-least-once, out of order and duplicated on demand,
// as the real service is ("Understanding Notifications"); the retry schedule is compressed.
import { XMLParser } from 'fast-xml-parser';
import { prng } from '../seed.ts';
import { formatDateTime, makeId, parseDateTime } from './format.ts';
import { resolveField, SOBJECT_NAMES, type SObjectName } from './schema.ts';
import type { SalesforceStore, SfRecord, StoreChange } from './store.ts';

/** WSDL `Notification maxOccurs="100"`. */
export const MAX_NOTIFICATIONS_PER_MESSAGE = 100;
/** An org Id of the sandbox (key prefix 00D). */
export const DEFAULT_ORGANIZATION_ID = makeId('00D', 1);
const API_VERSION = '62.0';

export interface OutboundFaults {
  /** Seed of the fault dice; default 1. */
  seed?: number;
  /** Share of acked notifications delivered once more in a later message (a lost ack). */
  duplicateRate?: number;
  /** Shuffle notifications before they are cut into messages. */
  reorder?: boolean;
  /** Wait before every POST. */
  delayMs?: number;
  /** Share of notifications never delivered (as when Salesforce gives up after 24 h). */
  dropRate?: number;
}

export interface OutboundMessagesOptions {
  /** Where messages go, e.g. `https://<api>/webhooks/salesforce/<secret>`. */
  endpointUrl: string;
  /** Default DEFAULT_ORGANIZATION_ID. */
  organizationId?: string;
  /** sObjects with an Outbound Message; default all. */
  objects?: SObjectName[];
  /** Fields each message carries; default Id, SystemModstamp. Id is always sent; unknown ones are left out. */
  fields?: string[];
  /** Gathers changes this long before sending; default 0 (next tick). */
  batchMs?: number;
  /** Tries per message and the first back-off (doubling); default 6 tries from 25 ms. */
  retry?: { attempts: number; baseMs: number };
  /** Per-request timeout; default 10 s (Salesforce waits 60 s). */
  timeoutMs?: number;
  faults?: OutboundFaults;
}

export interface OutboundStats {
  /** Notifications queued by record changes. */
  queued: number;
  /** POSTs made, retries included. */
  requests: number;
  /** Messages the receiver acknowledged. */
  acked: number;
  /** Notifications delivered and acknowledged; a duplicate counts again. */
  delivered: number;
  /** Failed POSTs (error, non-200 or no Ack) that were tried again. */
  retries: number;
  /** Notifications given up on after `retry.attempts` failed tries. */
  expired: number;
  /** Notifications delivered a second time by the duplicate fault. */
  duplicated: number;
  /** Notifications dropped by the drop fault. */
  dropped: number;
  /** Notifications waiting to be sent. */
  pending: number;
}

export interface SandboxOutbound {
  /** Sends everything queued, retries included, and resolves when the queue is empty. */
  flush(): Promise<void>;
  readonly stats: OutboundStats;
  /**
   * Merges options over the current ones; the first call with an endpointUrl turns messages on.
   * New `faults` restart the dice from their seed.
   */
  configure(options: Partial<OutboundMessagesOptions>): void;
}

interface Pending {
  notificationId: string;
  type: SObjectName;
  /** The record as written, for when it is gone by send time. */
  snapshot: SfRecord;
  /** Already the duplicate of an earlier delivery. */
  duplicate: boolean;
}

const ackParser = new XMLParser({ removeNSPrefix: true, parseTagValue: false });

/** True for a SOAP body holding `notificationsResponse/Ack` = true. */
function isAck(body: string): boolean {
  try {
    const doc: unknown = ackParser.parse(body);
    const path = ['Envelope', 'Body', 'notificationsResponse', 'Ack'];
    let node = doc;
    for (const key of path)
      node = typeof node === 'object' && node !== null ? Reflect.get(node, key) : undefined;
    return typeof node === 'string' && node.trim() === 'true';
  } catch {
    return false;
  }
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

export class OutboundSender implements SandboxOutbound {
  private readonly store: SalesforceStore;
  private readonly baseUrl: () => string;
  private options: OutboundMessagesOptions | undefined;
  private rand: () => number = prng(1);
  private queue: Pending[] = [];
  private counter = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private chain: Promise<void> = Promise.resolve();
  private readonly stopped = new AbortController();
  private readonly counts: Omit<OutboundStats, 'pending'> = {
    queued: 0,
    requests: 0,
    acked: 0,
    delivered: 0,
    retries: 0,
    expired: 0,
    duplicated: 0,
    dropped: 0,
  };

  constructor(store: SalesforceStore, baseUrl: () => string, options: OutboundMessagesOptions | undefined) {
    this.store = store;
    this.baseUrl = baseUrl;
    if (options !== undefined) this.configure(options);
    store.onChange((change) => this.enqueue(change));
  }

  get stats(): OutboundStats {
    return { ...this.counts, pending: this.queue.length };
  }

  configure(options: Partial<OutboundMessagesOptions>): void {
    const endpointUrl = options.endpointUrl ?? this.options?.endpointUrl;
    if (endpointUrl === undefined) throw new Error('outboundMessages: endpointUrl is required');
    this.options = { ...this.options, ...options, endpointUrl };
    if (options.faults !== undefined) this.rand = prng(options.faults.seed ?? 1);
  }

  async flush(): Promise<void> {
    for (;;) {
      // A timer may start a round while we wait; only an idle sender with an empty queue is done.
      const running = this.chain;
      await running;
      if (this.chain !== running) continue;
      if (this.queue.length === 0 || this.stopped.signal.aborted) return;
      await this.pump();
    }
  }

  /** Stops sending; queued notifications are abandoned. */
  async stop(): Promise<void> {
    this.clearTimer();
    this.stopped.abort();
    await this.chain;
  }

  private enqueue(change: StoreChange): void {
    const options = this.options;
    if (options === undefined || this.stopped.signal.aborted) return;
    if (!(options.objects ?? SOBJECT_NAMES).includes(change.type)) return;
    this.counter++;
    this.counts.queued++;
    this.queue.push({
      notificationId: makeId('04l', this.counter),
      type: change.type,
      snapshot: change.record,
      duplicate: false,
    });
    this.schedule();
  }

  /** A send round after batchMs, unless one is already due. */
  private schedule(): void {
    if (this.timer === undefined && !this.stopped.signal.aborted)
      this.timer = setTimeout(() => void this.pump(), this.options?.batchMs ?? 0);
  }

  private clearTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One send round after the ones before it; never rejects. */
  private pump(): Promise<void> {
    this.clearTimer();
    this.chain = this.chain.then(() => this.sendQueued()).catch(() => undefined);
    return this.chain;
  }

  private async sendQueued(): Promise<void> {
    const options = this.options;
    if (options === undefined) return;
    const faults = options.faults ?? {};
    const dropRate = faults.dropRate ?? 0;
    const batch = this.queue.filter(() => {
      const drop = dropRate > 0 && this.rand() < dropRate;
      if (drop) this.counts.dropped++;
      return !drop;
    });
    this.queue = [];
    if (faults.reorder === true)
      for (let i = batch.length - 1; i > 0; i--) {
        const j = Math.floor(this.rand() * (i + 1));
        const a = batch[i];
        const b = batch[j];
        if (a !== undefined && b !== undefined) [batch[i], batch[j]] = [b, a];
      }
    // One Outbound Message per sObject, so one ActionId per envelope.
    for (const type of SOBJECT_NAMES) {
      const ofType = batch.filter((n) => n.type === type);
      for (let i = 0; i < ofType.length; i += MAX_NOTIFICATIONS_PER_MESSAGE) {
        if (this.stopped.signal.aborted) return;
        await this.deliver(options, type, ofType.slice(i, i + MAX_NOTIFICATIONS_PER_MESSAGE));
      }
    }
  }

  private async deliver(
    options: OutboundMessagesOptions,
    type: SObjectName,
    items: Pending[],
  ): Promise<void> {
    const retry = options.retry ?? { attempts: 6, baseMs: 25 };
    const faults = options.faults ?? {};
    const signal = this.stopped.signal;
    for (let attempt = 1; attempt <= retry.attempts && !signal.aborted; attempt++) {
      if (attempt > 1) {
        this.counts.retries++;
        await sleep(retry.baseMs * 2 ** (attempt - 2), signal);
      }
      await sleep(faults.delayMs ?? 0, signal);
      if (signal.aborted) return;
      // Values are read at send time, as Salesforce does: the message may already be stale.
      const body = this.envelope(options, type, items);
      this.counts.requests++;
      try {
        const response = await fetch(options.endpointUrl, {
          method: 'POST',
          headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: '""' },
          body,
          signal: AbortSignal.any([signal, AbortSignal.timeout(options.timeoutMs ?? 10_000)]),
        });
        const text = await response.text();
        if (response.status === 200 && isAck(text)) {
          this.counts.acked++;
          this.counts.delivered += items.length;
          this.duplicate(items, faults.duplicateRate ?? 0);
          return;
        }
      } catch {
        // Connection refused, reset or timed out: retried like a missing Ack.
      }
    }
    if (!signal.aborted) this.counts.expired += items.length;
  }

  /** A lost ack: Salesforce sends the same notification Id again later. */
  private duplicate(items: readonly Pending[], rate: number): void {
    if (rate <= 0) return;
    for (const item of items)
      if (!item.duplicate && this.rand() < rate) {
        this.counts.duplicated++;
        this.queue.push({ ...item, duplicate: true });
        this.schedule();
      }
  }

  private envelope(options: OutboundMessagesOptions, type: SObjectName, items: readonly Pending[]): string {
    const org = options.organizationId ?? DEFAULT_ORGANIZATION_ID;
    const object = this.store.schema.object(type);
    const names = ['Id', ...(options.fields ?? ['Id', 'SystemModstamp'])];
    const fields = [...new Set(names.map((n) => resolveField(object, n)).filter((f) => f !== undefined))];
    const soapUrl = (kind: 'c' | 'u') =>
      `${this.baseUrl()}/services/Soap/${kind}/${API_VERSION}/${org.slice(0, 15)}`;
    const notifications = items.map((item) => {
      const record = this.store.get(type, item.snapshot.Id) ?? item.snapshot;
      const values = fields.map((f) => {
        const value = record[f.name] ?? null;
        if (value === null) return `      <sf:${f.name} xsi:nil="true"/>`;
        // The SOAP API writes dateTimes in UTC with Z, not the REST `+0000` form.
        const ms = f.type === 'datetime' && typeof value === 'string' ? parseDateTime(value) : undefined;
        const text = ms === undefined ? String(value) : `${formatDateTime(ms).slice(0, 23)}Z`;
        return `      <sf:${f.name}>${escapeXml(text)}</sf:${f.name}>`;
      });
      return [
        '   <Notification>',
        `    <Id>${item.notificationId}</Id>`,
        `    <sObject xsi:type="sf:${type}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">`,
        ...values,
        '    </sObject>',
        '   </Notification>',
      ].join('\n');
    });
    return `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>${escapeXml(org)}</OrganizationId>
   <ActionId>${makeId('04k', SOBJECT_NAMES.indexOf(type) + 1)}</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>${escapeXml(soapUrl('c'))}</EnterpriseUrl>
   <PartnerUrl>${escapeXml(soapUrl('u'))}</PartnerUrl>
${notifications.join('\n')}
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>`;
  }
}
