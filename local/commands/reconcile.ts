// fieldsync reconcile [--system s] [--object o] [--sample N] [--max-calls N] [--grace-seconds N]
// [--dry-run] [--json]: the reconcile function on the embedded stack (the very file Lambda runs, with
// the event a schedule would send), then the queues are drained as the deployed consumers would: the
// repairs it queued are ingested and written before the command exits. Prints what it found (counts,
// ids and field names; the values are in `fieldsync audit <id>`) and what the writers did.
import { parseArgs } from 'node:util';
import { isObjectType, type ObjectType } from '../../engine/index.ts';
import { ConfigError } from '../../runtime/config.ts';
import type { ReconcileResult } from '../../runtime/reconcile.ts';
import type { ReconcileEvent } from '../../runtime/reconcile-handler.ts';
import { isoTime, type Out, plural, table } from './format.ts';
import { withStack } from './operate.ts';

function wholeNumber(flag: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < min)
    throw new ConfigError(`reconcile: ${flag} must be a whole number >= ${min}, got '${raw}'`);
  return n;
}

/** The command line as the event a schedule would send the function. */
export function reconcileEventFrom(argv: readonly string[]): { event: ReconcileEvent; json: boolean } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      system: { type: 'string', multiple: true },
      object: { type: 'string', multiple: true },
      sample: { type: 'string' },
      'max-calls': { type: 'string' },
      'grace-seconds': { type: 'string' },
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
    },
    strict: true,
  });
  const objects: ObjectType[] = [];
  for (const o of values.object ?? []) {
    if (!isObjectType(o))
      throw new ConfigError(`reconcile: --object must be company, contact or deal, got '${o}'`);
    objects.push(o);
  }
  const sample = wholeNumber('--sample', values.sample, 1);
  const maxCalls = wholeNumber('--max-calls', values['max-calls'], 1);
  const graceSeconds = wholeNumber('--grace-seconds', values['grace-seconds'], 0);
  const event: ReconcileEvent = {
    ...(values.system === undefined ? {} : { systems: values.system }),
    ...(objects.length === 0 ? {} : { objects }),
    ...(sample === undefined ? {} : { sample }),
    ...(maxCalls === undefined ? {} : { maxCalls }),
    ...(graceSeconds === undefined ? {} : { graceSeconds }),
    ...(values['dry-run'] === true ? { dryRun: true } : {}),
  };
  return { event, json: values.json === true };
}

export function formatReconcile(result: ReconcileResult, maxFindings = 20): string[] {
  const { summary, findings } = result;
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  const lines = [
    `reconcile ${isoTime(summary.startedAt)}${summary.dryRun ? ' (dry run: nothing queued or stored)' : ''}: ` +
      `${plural(summary.totals.checked, 'record')} checked with ${plural(summary.totals.calls, 'API call')}`,
    ...table(
      [
        'system',
        'object',
        'records',
        'checked',
        'covered',
        'drifted',
        'fields',
        'missing',
        'unlinked',
        'pending',
        'queued',
        'calls',
        'stopped',
      ],
      summary.entries.map((e) => [
        e.system,
        e.object,
        String(e.records),
        String(e.checked),
        pct(e.covered),
        String(e.drifted),
        String(e.driftedFields),
        String(e.missing),
        String(e.unlinked),
        String(e.pending),
        String(e.queued),
        String(e.calls),
        e.stopped === undefined ? '-' : e.error === undefined ? e.stopped : `${e.stopped} (${e.error})`,
      ]),
    ),
  ];
  for (const f of findings.slice(0, maxFindings)) {
    const where = f.externalId === undefined ? '' : ` (${f.system} ${f.externalId})`;
    const what =
      f.kind === 'drift'
        ? `${f.fields?.join(', ') ?? ''}${f.unseen === true ? ' (changed there after fieldsync last read it)' : ''}`
        : f.kind === 'missing'
          ? `no longer in ${f.system} (reported only: see fieldsync audit)`
          : f.kind === 'unlinked'
            ? `never created in ${f.system}`
            : `write to ${f.system} outstanding`;
    lines.push(`  ${f.kind.padEnd(8)} ${f.object} ${f.canonicalId}${where}: ${what}`);
  }
  if (findings.length > maxFindings) lines.push(`  ... and ${findings.length - maxFindings} more`);
  return lines;
}

export async function runReconcile(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  out: Out,
): Promise<number> {
  const { event, json } = reconcileEventFrom(argv);
  const { result, written, code } = await withStack(
    env,
    json ? () => undefined : out,
    async (): Promise<ReconcileResult> => {
      // Loaded once the embedded stack has set the function's environment (as a cold start would).
      const { handler } = await import('../../functions/reconcile.ts');
      const r = await handler(event);
      if (!json) for (const line of formatReconcile(r)) out(line);
      return r;
    },
  );
  if (json) out(JSON.stringify({ ...result.summary, findings: result.findings, written }, null, 2));
  return code;
}
