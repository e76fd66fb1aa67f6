// What the functions log about records: ids, field names and decisions, never field values (PII),
// unless FIELDSYNC_LOG_VALUES=true says otherwise (a debug setting, off by default on AWS and locally).
// The CloudWatch Logs Insights queries saved by the CDK stack read these shapes (lib/constructs).
import { logger } from './lambda.ts';
import type { AuditRow, SyncError } from './store.ts';

/** The debug setting: field values (and vendor messages, which quote them) in the logs. */
export function logValuesEnabled(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  return env.FIELDSYNC_LOG_VALUES === 'true';
}

/** The log line of one audit row: `message: 'decision'`, ids, the field and the reason; values only in debug. */
export function decisionLine(row: AuditRow, withValues: boolean): Record<string, unknown> {
  return {
    canonicalId: row.canonicalId,
    object: row.object,
    field: row.field,
    reason: row.reason,
    source: row.source,
    sourceTime: row.sourceTime,
    ...(withValues ? { old: row.old, new: row.new, kept: row.kept } : {}),
  };
}

/** One `decision` line per audit row (the "history of one record" query filters on canonicalId). */
export function logDecisions(rows: readonly AuditRow[], env = process.env): void {
  if (rows.length === 0 || logger.getLevelName() === 'SILENT') return;
  const withValues = logValuesEnabled(env);
  for (const row of rows) logger.info('decision', decisionLine(row, withValues));
}

export interface SyncErrorContext {
  /** The record's id in the system that refused it (absent for a create). */
  recordId?: string | undefined;
  /** Names of the fields the write carried. */
  fields: readonly string[];
}

/** The log line of a record a system refused: ids, the vendor's code and the field names. */
export function syncErrorLine(
  error: SyncError,
  context: SyncErrorContext,
  withValues: boolean,
): Record<string, unknown> {
  return {
    system: error.system,
    object: error.object,
    canonicalId: error.canonicalId,
    ...(context.recordId !== undefined ? { recordId: context.recordId } : {}),
    vendorCode: error.code,
    fields: [...context.fields],
    // Vendor messages quote values ("duplicate value found: a@b.c"): only in debug.
    ...(withValues ? { vendorMessage: error.message } : {}),
  };
}

/** One `sync error` line (the "errors by vendor code" query counts them by system and vendorCode). */
export function logSyncError(error: SyncError, context: SyncErrorContext, env = process.env): void {
  logger.error('sync error', syncErrorLine(error, context, logValuesEnabled(env)));
}
