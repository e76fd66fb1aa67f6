// The audit report: what was synced, what failed and who changed what over a period, read from the
// store in one Scan (Store.scanReport). Counts, ids, field names and vendor codes only, never field
// values (PII). A typed, versioned JSON shape: the daily report function logs it with EMF metrics,
// `fieldsync report` prints it, or renders it as a page (runtime/report-html.ts).
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SYSTEMS } from '../connectors/systems.ts';
import { MODEL, type Model, OBJECT_TYPES, type ObjectType, type Policy, policyOf } from '../engine/index.ts';
import { type MetricGroup, publishGroups } from './metrics.ts';
import type { ReportItem, Store } from './store.ts';

export const REPORT_KIND = 'fieldsync.audit-report';
/** Bump on any change that breaks a reader of the JSON (renamed or removed keys, changed meaning). */
export const REPORT_VERSION = 1;
/** Longer lists (error codes, drifting fields) keep their largest entries; the rest is counted as omitted. */
export const LIST_LIMIT = 100;
export const TOP_FIELDS = 10;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface ReportPeriod {
  since: string;
  until: string;
  hours: number;
}

/** Canonical records of one object as stored now, and how many are linked in each system. */
export interface ObjectRecords {
  object: ObjectType;
  canonical: number;
  active: number;
  /** Held for an operator (an ambiguous match: `fieldsync link`). */
  held: number;
  deleted: number;
  quarantined: number;
  merged: number;
  forgotten: number;
  /** Live (active or held) records linked to a native record in each system. */
  linked: Record<string, number>;
}

/** What happened to one object in one system during the period (from the audit rows). */
export interface Activity {
  object: ObjectType;
  system: string;
  /** Record changes from this system merged into canonical records (one per record per merge). */
  changes: number;
  /** The field values those changes set (edits and conflicts won). */
  fieldChanges: number;
  /** Records fieldsync created in this system ('created' rows). */
  created: number;
  /** Records fieldsync updated in this system ('written' rows). */
  updated: number;
  /** Records deleted in this system: by a user (seen by fieldsync) or by fieldsync propagating a delete. */
  deleted: number;
  /** Merges made in this system (each audits the surviving and the merged record). */
  merges: number;
  /** Snapshots that were fieldsync's own writes coming back, merged as no change. */
  echoes: number;
  /** Edits from this system that met a concurrent edit of the same field elsewhere. */
  conflicts: number;
  /** Fields reconciliation found differing in this system from what the canonical state says it holds. */
  drift: number;
  /** Records this system refused for good (parked as sync errors) during the period. */
  writeFailures: number;
  /** Every audit row by reason (ChangeReason or AuditEvent), for what the columns above leave out. */
  events: Record<string, number>;
}

export type ConflictOutcome = 'incoming-won' | 'existing-kept';

export interface ConflictSummary {
  total: number;
  /** How they were resolved: the field's policy, and whether the edit arriving later won. */
  byResolution: { policy: string; outcome: ConflictOutcome; count: number }[];
  /** By the system whose edit arrived into the conflict. */
  bySystem: { system: string; won: number; lost: number }[];
  topFields: {
    object: ObjectType;
    field: string;
    policy: string;
    count: number;
    won: number;
    lost: number;
  }[];
}

export interface ErrorSummary {
  /** Records parked now (listed by `fieldsync errors`), whenever they were parked. */
  parked: number;
  /** Of those, parked during the period. */
  parkedInPeriod: number;
  /** 'write-failed' audit rows during the period (a later successful retry clears the parked error). */
  writeFailures: number;
  bySystem: { system: string; parked: number; writeFailures: number }[];
  /** Parked errors by system, object and vendor code, largest first. */
  byCode: { system: string; object: ObjectType; code: string; count: number }[];
  byCodeOmitted: number;
}

export interface DriftSummary {
  total: number;
  bySystem: { system: string; count: number }[];
  byField: { system: string; object: ObjectType; field: string; count: number }[];
  byFieldOmitted: number;
}

export interface SeriesBucket {
  start: string;
  /** Record changes merged from each system. */
  changes: Record<string, number>;
  /** Records fieldsync created or updated in each system. */
  writes: Record<string, number>;
}

export interface SyncSeries {
  bucketMinutes: number;
  buckets: SeriesBucket[];
}

export interface ReportTotals {
  canonical: number;
  linked: number;
  changes: number;
  fieldChanges: number;
  created: number;
  updated: number;
  deleted: number;
  merges: number;
  echoes: number;
  conflicts: number;
  drift: number;
  writeFailures: number;
  ambiguous: number;
  errorsParked: number;
  auditRows: number;
}

export interface AuditReport {
  kind: typeof REPORT_KIND;
  version: typeof REPORT_VERSION;
  generatedAt: string;
  period: ReportPeriod;
  /** The configured systems first, then any other source seen (e.g. `fieldsync` for operator actions). */
  systems: string[];
  objects: ObjectType[];
  totals: ReportTotals;
  records: ObjectRecords[];
  /** One entry per object and system with any activity in the period. */
  activity: Activity[];
  conflicts: ConflictSummary;
  errors: ErrorSummary;
  drift: DriftSummary;
  echoes: { total: number; bySystem: { system: string; count: number }[] };
  /** When each poller last advanced its cursor (null: never). */
  cursors: { system: string; object: string; updatedAt: string | null }[];
  series: SyncSeries;
}

export interface ReportOptions {
  /** Start of the period (ms epoch, inclusive). */
  since: number;
  /** End of the period (ms epoch, exclusive); default `now`. */
  until?: number;
  now?: number;
  /** The synced objects with their policies (from the config); the built-in model when absent. */
  model?: Model;
}

export class ReportError extends Error {
  override name = 'ReportError';
}

/** Build the report for `[since, until)` from one pass over the store. */
export async function buildReport(store: Store, options: ReportOptions): Promise<AuditReport> {
  const builder = new ReportBuilder(options);
  await store.scanReport({ since: builder.since, until: builder.until }, (item) => builder.add(item));
  return builder.finish();
}

/** The same from items already read (what `buildReport` does with the Scan's pages). */
export function summarizeReport(items: Iterable<ReportItem>, options: ReportOptions): AuditReport {
  const builder = new ReportBuilder(options);
  for (const item of items) builder.add(item);
  return builder.finish();
}

/** One bucket per hour up to a week, per day beyond. */
export function bucketMsFor(periodMs: number): number {
  return periodMs <= 7 * DAY_MS ? HOUR_MS : DAY_MS;
}

export function policyName(policy: Policy | undefined): string {
  if (policy === undefined || policy.kind === 'lastWriterWins') return 'lastWriterWins';
  return `${policy.kind}:${policy.system}`;
}

type Counter = Map<string, number>;

function bump(map: Counter, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

function emptyActivity(object: ObjectType, system: string): Activity {
  return {
    object,
    system,
    changes: 0,
    fieldChanges: 0,
    created: 0,
    updated: 0,
    deleted: 0,
    merges: 0,
    echoes: 0,
    conflicts: 0,
    drift: 0,
    writeFailures: 0,
    events: {},
  };
}

function emptyRecords(object: ObjectType): ObjectRecords {
  return {
    object,
    canonical: 0,
    active: 0,
    held: 0,
    deleted: 0,
    quarantined: 0,
    merged: 0,
    forgotten: 0,
    linked: {},
  };
}

const key = (...parts: readonly string[]) => JSON.stringify(parts);

class ReportBuilder {
  readonly since: number;
  readonly until: number;
  private readonly now: number;
  private readonly model: Model;
  private readonly bucketMs: number;
  private readonly firstBucket: number;
  private readonly records = new Map<ObjectType, ObjectRecords>();
  private readonly activity = new Map<string, Activity>();
  /** Per activity key: `canonicalId at` of the record changes counted (a merge audits one row per field). */
  private readonly changeKeys = new Map<string, Set<string>>();
  private readonly mergeRows: Counter = new Map();
  private readonly conflictsByResolution: Counter = new Map();
  private readonly conflictsBySystem = new Map<string, { won: number; lost: number }>();
  private readonly conflictsByField = new Map<string, { won: number; lost: number }>();
  private readonly parkedBySystem: Counter = new Map();
  private readonly parkedByCode: Counter = new Map();
  private readonly failuresBySystem: Counter = new Map();
  private readonly driftByField: Counter = new Map();
  private readonly echoesBySystem: Counter = new Map();
  private readonly cursors: { system: string; object: string; updatedAt: number | undefined }[] = [];
  private readonly bucketChanges = new Map<number, Map<string, Set<string>>>();
  private readonly bucketWrites = new Map<number, Counter>();
  private readonly seenSystems = new Set<string>();
  private readonly seenObjects = new Set<ObjectType>();
  private parked = 0;
  private parkedInPeriod = 0;
  private ambiguous = 0;
  private auditRows = 0;

  constructor(options: ReportOptions) {
    this.now = options.now ?? Date.now();
    this.until = options.until ?? this.now;
    this.since = options.since;
    if (!Number.isFinite(this.since) || !Number.isFinite(this.until))
      throw new ReportError('the report period needs finite start and end times');
    if (this.since >= this.until)
      throw new ReportError(
        `the report period is empty: ${new Date(this.since).toISOString()} is not before ${new Date(this.until).toISOString()}`,
      );
    this.model = options.model ?? MODEL;
    this.bucketMs = bucketMsFor(this.until - this.since);
    this.firstBucket = Math.floor(this.since / this.bucketMs) * this.bucketMs;
  }

  add(item: ReportItem): void {
    switch (item.kind) {
      case 'record':
        this.addRecord(item);
        break;
      case 'error':
        this.addError(item);
        break;
      case 'cursor':
        this.seenSystems.add(item.system);
        this.cursors.push({ system: item.system, object: item.object, updatedAt: item.updatedAt });
        break;
      case 'audit':
        this.addAudit(item);
        break;
    }
  }

  private recordsOf(object: ObjectType): ObjectRecords {
    let r = this.records.get(object);
    if (r === undefined) {
      r = emptyRecords(object);
      this.records.set(object, r);
    }
    return r;
  }

  private activityOf(object: ObjectType, system: string): Activity {
    const k = key(object, system);
    let a = this.activity.get(k);
    if (a === undefined) {
      a = emptyActivity(object, system);
      this.activity.set(k, a);
    }
    return a;
  }

  private addRecord(item: Extract<ReportItem, { kind: 'record' }>): void {
    this.seenObjects.add(item.object);
    const r = this.recordsOf(item.object);
    r.canonical++;
    r[item.status]++;
    if (item.status !== 'active' && item.status !== 'held') return;
    for (const system of item.linked) {
      this.seenSystems.add(system);
      r.linked[system] = (r.linked[system] ?? 0) + 1;
    }
  }

  private addError(item: Extract<ReportItem, { kind: 'error' }>): void {
    this.seenSystems.add(item.system);
    this.seenObjects.add(item.object);
    this.parked++;
    if (item.at >= this.since && item.at < this.until) this.parkedInPeriod++;
    bump(this.parkedBySystem, item.system);
    bump(this.parkedByCode, key(item.system, item.object, item.code));
  }

  private policyFor(object: ObjectType, field: string): string {
    const def = this.model[object]?.fields[field];
    return def === undefined ? 'unmapped' : policyName(policyOf(def));
  }

  private addAudit(row: Extract<ReportItem, { kind: 'audit' }>): void {
    // The store filters on the period too; a caller handing rows in directly may not have.
    if (row.at < this.since || row.at >= this.until) return;
    this.auditRows++;
    this.seenSystems.add(row.source);
    this.seenObjects.add(row.object);
    const a = this.activityOf(row.object, row.source);
    a.events[row.reason] = (a.events[row.reason] ?? 0) + 1;
    const bucket = Math.floor(row.at / this.bucketMs) * this.bucketMs;
    switch (row.reason) {
      case 'edit':
      case 'conflict-won':
      case 'conflict-lost': {
        if (row.reason !== 'edit') this.addConflict(row, a);
        if (row.reason === 'conflict-lost') break;
        a.fieldChanges++;
        const k = key(row.object, row.source);
        const change = `${row.canonicalId} ${row.at}`;
        let changes = this.changeKeys.get(k);
        if (changes === undefined) {
          changes = new Set();
          this.changeKeys.set(k, changes);
        }
        changes.add(change);
        let perSystem = this.bucketChanges.get(bucket);
        if (perSystem === undefined) {
          perSystem = new Map();
          this.bucketChanges.set(bucket, perSystem);
        }
        let set = perSystem.get(row.source);
        if (set === undefined) {
          set = new Set();
          perSystem.set(row.source, set);
        }
        set.add(`${row.object} ${change}`);
        break;
      }
      case 'created':
      case 'written': {
        if (row.reason === 'created') a.created++;
        else a.updated++;
        let writes = this.bucketWrites.get(bucket);
        if (writes === undefined) {
          writes = new Map();
          this.bucketWrites.set(bucket, writes);
        }
        bump(writes, row.source);
        break;
      }
      case 'deleted':
        a.deleted++;
        break;
      case 'merged':
        bump(this.mergeRows, key(row.object, row.source));
        break;
      case 'echo':
        a.echoes++;
        bump(this.echoesBySystem, row.source);
        break;
      case 'drift':
        a.drift++;
        bump(this.driftByField, key(row.source, row.object, row.field));
        break;
      case 'write-failed':
        a.writeFailures++;
        bump(this.failuresBySystem, row.source);
        break;
      case 'ambiguous':
        this.ambiguous++;
        break;
      default:
        break;
    }
  }

  private addConflict(row: Extract<ReportItem, { kind: 'audit' }>, a: Activity): void {
    a.conflicts++;
    const won = row.reason === 'conflict-won';
    const policy = this.policyFor(row.object, row.field);
    bump(this.conflictsByResolution, key(policy, won ? 'incoming-won' : 'existing-kept'));
    const bySystem = this.conflictsBySystem.get(row.source) ?? { won: 0, lost: 0 };
    const byField = this.conflictsByField.get(key(row.object, row.field)) ?? { won: 0, lost: 0 };
    for (const c of [bySystem, byField]) {
      if (won) c.won++;
      else c.lost++;
    }
    this.conflictsBySystem.set(row.source, bySystem);
    this.conflictsByField.set(key(row.object, row.field), byField);
  }

  finish(): AuditReport {
    const systems = [
      ...SYSTEMS,
      ...[...this.seenSystems].filter((s) => !(SYSTEMS as readonly string[]).includes(s)).sort(),
    ];
    const configured = OBJECT_TYPES.filter((o) => this.model[o] !== undefined);
    const objects = OBJECT_TYPES.filter((o) => configured.includes(o) || this.seenObjects.has(o));
    const systemRank = (s: string) => systems.indexOf(s);
    const objectRank = (o: ObjectType) => objects.indexOf(o);

    for (const [k, rows] of this.mergeRows) {
      const [object, system] = JSON.parse(k) as [ObjectType, string];
      this.activityOf(object, system).merges = Math.ceil(rows / 2);
    }
    for (const [k, changes] of this.changeKeys) {
      const [object, system] = JSON.parse(k) as [ObjectType, string];
      this.activityOf(object, system).changes = changes.size;
    }
    const activity = [...this.activity.values()].sort(
      (a, b) => objectRank(a.object) - objectRank(b.object) || systemRank(a.system) - systemRank(b.system),
    );
    const records = objects.map((o) => {
      const r = this.records.get(o) ?? emptyRecords(o);
      return { ...r, linked: Object.fromEntries(systems.map((s) => [s, r.linked[s] ?? 0])) };
    });
    const sum = (pick: (a: Activity) => number) => activity.reduce((n, a) => n + pick(a), 0);

    const conflictTotal = sum((a) => a.conflicts);
    const conflicts: ConflictSummary = {
      total: conflictTotal,
      byResolution: [...this.conflictsByResolution]
        .map(([k, count]) => {
          const [policy, outcome] = JSON.parse(k) as [string, ConflictOutcome];
          return { policy, outcome, count };
        })
        .sort(
          (a, b) =>
            b.count - a.count || a.policy.localeCompare(b.policy) || a.outcome.localeCompare(b.outcome),
        ),
      bySystem: [...this.conflictsBySystem]
        .map(([system, c]) => ({ system, ...c }))
        .sort((a, b) => systemRank(a.system) - systemRank(b.system)),
      topFields: [...this.conflictsByField]
        .map(([k, c]) => {
          const [object, field] = JSON.parse(k) as [ObjectType, string];
          return { object, field, policy: this.policyFor(object, field), count: c.won + c.lost, ...c };
        })
        .sort(
          (a, b) =>
            b.count - a.count ||
            objectRank(a.object) - objectRank(b.object) ||
            a.field.localeCompare(b.field),
        )
        .slice(0, TOP_FIELDS),
    };

    const byCode = [...this.parkedByCode]
      .map(([k, count]) => {
        const [system, object, code] = JSON.parse(k) as [string, ObjectType, string];
        return { system, object, code, count };
      })
      .sort(
        (a, b) =>
          b.count - a.count ||
          systemRank(a.system) - systemRank(b.system) ||
          objectRank(a.object) - objectRank(b.object) ||
          a.code.localeCompare(b.code),
      );
    const errorSystems = systems.filter((s) => this.parkedBySystem.has(s) || this.failuresBySystem.has(s));
    const errors: ErrorSummary = {
      parked: this.parked,
      parkedInPeriod: this.parkedInPeriod,
      writeFailures: sum((a) => a.writeFailures),
      bySystem: errorSystems.map((system) => ({
        system,
        parked: this.parkedBySystem.get(system) ?? 0,
        writeFailures: this.failuresBySystem.get(system) ?? 0,
      })),
      byCode: byCode.slice(0, LIST_LIMIT),
      byCodeOmitted: Math.max(0, byCode.length - LIST_LIMIT),
    };

    const byField = [...this.driftByField]
      .map(([k, count]) => {
        const [system, object, field] = JSON.parse(k) as [string, ObjectType, string];
        return { system, object, field, count };
      })
      .sort(
        (a, b) =>
          b.count - a.count ||
          systemRank(a.system) - systemRank(b.system) ||
          objectRank(a.object) - objectRank(b.object) ||
          a.field.localeCompare(b.field),
      );
    const driftTotal = sum((a) => a.drift);
    const drift: DriftSummary = {
      total: driftTotal,
      bySystem: systems
        .map((system) => ({ system, count: sum((a) => (a.system === system ? a.drift : 0)) }))
        .filter((d) => d.count > 0),
      byField: byField.slice(0, LIST_LIMIT),
      byFieldOmitted: Math.max(0, byField.length - LIST_LIMIT),
    };

    const buckets: SeriesBucket[] = [];
    for (let t = this.firstBucket; t < this.until; t += this.bucketMs) {
      const changes = this.bucketChanges.get(t);
      const writes = this.bucketWrites.get(t);
      buckets.push({
        start: new Date(t).toISOString(),
        changes: Object.fromEntries(systems.map((s) => [s, changes?.get(s)?.size ?? 0])),
        writes: Object.fromEntries(systems.map((s) => [s, writes?.get(s) ?? 0])),
      });
    }

    const echoTotal = sum((a) => a.echoes);
    return {
      kind: REPORT_KIND,
      version: REPORT_VERSION,
      generatedAt: new Date(this.now).toISOString(),
      period: {
        since: new Date(this.since).toISOString(),
        until: new Date(this.until).toISOString(),
        hours: Math.round(((this.until - this.since) / HOUR_MS) * 100) / 100,
      },
      systems,
      objects,
      totals: {
        canonical: records.reduce((n, r) => n + r.canonical, 0),
        linked: records.reduce((n, r) => n + Object.values(r.linked).reduce((m, v) => m + v, 0), 0),
        changes: sum((a) => a.changes),
        fieldChanges: sum((a) => a.fieldChanges),
        created: sum((a) => a.created),
        updated: sum((a) => a.updated),
        deleted: sum((a) => a.deleted),
        merges: sum((a) => a.merges),
        echoes: echoTotal,
        conflicts: conflictTotal,
        drift: driftTotal,
        writeFailures: errors.writeFailures,
        ambiguous: this.ambiguous,
        errorsParked: this.parked,
        auditRows: this.auditRows,
      },
      records,
      activity,
      conflicts,
      errors,
      drift,
      echoes: {
        total: echoTotal,
        bySystem: systems
          .filter((s) => this.echoesBySystem.has(s))
          .map((system) => ({ system, count: this.echoesBySystem.get(system) ?? 0 })),
      },
      cursors: this.cursors
        .map((c) => ({
          system: c.system,
          object: c.object,
          updatedAt: c.updatedAt === undefined ? null : new Date(c.updatedAt).toISOString(),
        }))
        .sort((a, b) => systemRank(a.system) - systemRank(b.system) || a.object.localeCompare(b.object)),
      series: { bucketMinutes: this.bucketMs / 60_000, buckets },
    };
  }
}

/** True when the state holds nothing to report on: no record, no parked error, no audit row in the period. */
export function isEmptyReport(report: AuditReport): boolean {
  return report.totals.canonical === 0 && report.totals.errorsParked === 0 && report.totals.auditRows === 0;
}

/**
 * The report as CloudWatch metrics: totals without a dimension (for alarms on the whole deployment),
 * then per system. Names start with `Report` so they never mix with the handlers' per-invocation counts.
 */
export function reportMetrics(report: AuditReport): MetricGroup[] {
  const t = report.totals;
  const out: MetricGroup[] = [
    {
      system: '',
      values: {
        ReportCanonicalRecords: t.canonical,
        ReportChanges: t.changes,
        ReportConflicts: t.conflicts,
        ReportErrors: t.errorsParked,
        ReportWriteFailures: t.writeFailures,
        ReportDrift: t.drift,
        ReportEchoes: t.echoes,
        ReportAmbiguous: t.ambiguous,
      },
    },
  ];
  for (const system of report.systems) {
    const mine = report.activity.filter((a) => a.system === system);
    const sum = (pick: (a: Activity) => number) => mine.reduce((n, a) => n + pick(a), 0);
    const linked = report.records.reduce((n, r) => n + (r.linked[system] ?? 0), 0);
    const parked = report.errors.bySystem.find((e) => e.system === system)?.parked ?? 0;
    // Operator actions (`fieldsync` as the source) carry no sync counts worth a metric of their own.
    if (mine.length === 0 && linked === 0 && parked === 0) continue;
    out.push({
      system,
      values: {
        ReportLinkedRecords: linked,
        ReportChanges: sum((a) => a.changes),
        ReportRecordsCreated: sum((a) => a.created),
        ReportRecordsUpdated: sum((a) => a.updated),
        ReportRecordsDeleted: sum((a) => a.deleted),
        ReportMerges: sum((a) => a.merges),
        ReportEchoes: sum((a) => a.echoes),
        ReportConflicts: sum((a) => a.conflicts),
        ReportDrift: sum((a) => a.drift),
        ReportWriteFailures: sum((a) => a.writeFailures),
        ReportErrors: parked,
      },
    });
  }
  return out;
}

export function publishReportMetrics(metrics: Metrics, report: AuditReport): void {
  publishGroups(metrics, reportMetrics(report));
}

/** Powertools Metrics on Lambda (namespace and service as runtime/metrics.ts), undefined elsewhere. */
export function reportMetricsOnLambda(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Metrics | undefined {
  if (env.AWS_LAMBDA_FUNCTION_NAME === undefined) return undefined;
  return new Metrics({
    namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? 'fieldsync',
    serviceName: 'fieldsync',
  });
}

/**
 * REPORT_PERIOD_HOURS: how far back the scheduled report looks (default 24, the daily schedule); set
 * it to the schedule's rate so consecutive reports neither overlap nor leave gaps. Read at cold start.
 */
export function reportPeriodMs(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const raw = env.REPORT_PERIOD_HOURS;
  if (raw === undefined || raw === '') return DAY_MS;
  const hours = Number(raw);
  // The audit rows live 400 days (TTL): a longer period would report less than it says.
  if (!Number.isFinite(hours) || hours <= 0 || hours > 400 * 24)
    throw new ReportError(`REPORT_PERIOD_HOURS must be a number of hours between 0 and 9600, got '${raw}'`);
  return hours * HOUR_MS;
}

export interface ReportHandlerDeps {
  store: Store;
  model: Model;
  now: () => number;
  /** Structured logging (Powertools Logger on Lambda). */
  logger: { info(message: string, extra: Record<string, unknown>): void };
  /** EMF metrics on Lambda; none locally, where nothing ships stdout to CloudWatch. */
  metrics?: Metrics | undefined;
  /** The period, ending at invocation; default 24 h (the schedule runs daily). */
  periodMs?: number;
}

/**
 * The scheduled report: the last `periodMs` as one `audit report` log line (Logs Insights reads
 * `report.totals.*`) and EMF metrics. Returns the report, so a local caller can use it too.
 */
export function createReportHandler(deps: ReportHandlerDeps): (event?: unknown) => Promise<AuditReport> {
  const periodMs = deps.periodMs ?? DAY_MS;
  // Scheduled by EventBridge Scheduler; the event carries nothing we need.
  return async () => {
    const until = deps.now();
    const report = await buildReport(deps.store, {
      since: until - periodMs,
      until,
      now: until,
      model: deps.model,
    });
    deps.logger.info('audit report', { report });
    if (deps.metrics !== undefined) publishReportMetrics(deps.metrics, report);
    return report;
  };
}
