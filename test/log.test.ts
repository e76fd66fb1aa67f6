// Logs carry ids, field names and decisions; field values only with FIELDSYNC_LOG_VALUES=true.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { logger } from '../runtime/lambda.ts';
import { decisionLine, logDecisions, logSyncError, logValuesEnabled } from '../runtime/log.ts';
import type { AuditRow, SyncError } from '../runtime/store.ts';

const row: AuditRow = {
  canonicalId: 'contact_abc',
  object: 'contact',
  at: 1_700_000_000_000,
  field: 'email',
  old: 'old@example.com',
  new: 'new@example.com',
  kept: null,
  source: 'hubspot',
  sourceTime: 1_699_999_999_000,
  reason: 'conflict-won',
};

const error: SyncError = {
  system: 'salesforce',
  object: 'contact',
  canonicalId: 'contact_abc',
  code: 'DUPLICATE_VALUE',
  message: 'duplicate value found: Email duplicates value on record with id: 003x (new@example.com)',
  at: 1_700_000_000_000,
};

function captured(fn: () => void): Record<string, unknown>[] {
  const lines: string[] = [];
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const grab = (chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  };
  process.stdout.write = grab;
  process.stderr.write = grab;
  try {
    fn();
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  return lines
    .join('')
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l): Record<string, unknown> => JSON.parse(l));
}

describe('log lines', () => {
  let level: ReturnType<typeof logger.getLevelName>;
  beforeEach(() => {
    level = logger.getLevelName();
    logger.setLogLevel('INFO');
  });
  afterEach(() => logger.setLogLevel(level));

  it('is off by default and on only for the exact value true', () => {
    expect(logValuesEnabled({})).toBe(false);
    expect(logValuesEnabled({ FIELDSYNC_LOG_VALUES: '1' })).toBe(false);
    expect(logValuesEnabled({ FIELDSYNC_LOG_VALUES: 'true' })).toBe(true);
  });

  it('logs one decision per audit row with ids and the field name, no values by default', () => {
    const lines = captured(() => logDecisions([row, { ...row, field: 'phone', reason: 'older' }], {}));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      message: 'decision',
      canonicalId: 'contact_abc',
      object: 'contact',
      field: 'email',
      reason: 'conflict-won',
      source: 'hubspot',
    });
    expect(lines[1]).toMatchObject({ field: 'phone', reason: 'older' });
    const text = JSON.stringify(lines);
    expect(text).not.toContain('example.com');
  });

  it('adds old, new and kept values in debug', () => {
    expect(decisionLine(row, true)).toMatchObject({
      old: 'old@example.com',
      new: 'new@example.com',
      kept: null,
    });
    const [line] = captured(() => logDecisions([row], { FIELDSYNC_LOG_VALUES: 'true' }));
    expect(line).toMatchObject({ new: 'new@example.com' });
  });

  it('logs a refused record with its vendor code and field names, not the vendor message', () => {
    const [line] = captured(() =>
      logSyncError(error, { recordId: '003x', fields: ['email', 'lastName'] }, {}),
    );
    expect(line).toMatchObject({
      message: 'sync error',
      level: 'ERROR',
      system: 'salesforce',
      object: 'contact',
      canonicalId: 'contact_abc',
      recordId: '003x',
      vendorCode: 'DUPLICATE_VALUE',
      fields: ['email', 'lastName'],
    });
    expect(JSON.stringify(line)).not.toContain('example.com');
    const [debug] = captured(() =>
      logSyncError(error, { fields: ['email'] }, { FIELDSYNC_LOG_VALUES: 'true' }),
    );
    expect(debug).toMatchObject({ vendorMessage: error.message });
    expect(debug).not.toHaveProperty('recordId');
  });

  it('writes nothing while the logger is silent (the embedded stack)', () => {
    logger.setLogLevel('SILENT');
    expect(captured(() => logDecisions([row], {}))).toEqual([]);
  });
});
