// The command line's answers to bad input: one clear line naming the setting, no stack trace.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const cli = join(import.meta.dirname, '..', 'bin', 'fieldsync.ts');

function run(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(SALESFORCE|HUBSPOT|FIELDSYNC)_/.test(k)),
  );
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env: { ...base, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

const good = {
  SALESFORCE_INSTANCE_URL: 'https://example.my.salesforce.com',
  SALESFORCE_ACCESS_TOKEN: 'token',
  HUBSPOT_ACCESS_TOKEN: 'pat-token',
};

describe('fieldsync CLI', () => {
  it('names the missing variable in one line', async () => {
    const { code, stderr } = await run(['sync', '--once'], { SALESFORCE_ACCESS_TOKEN: 'x' });
    expect(code).toBe(2);
    expect(stderr.trim()).toBe('fieldsync: SALESFORCE_INSTANCE_URL is not set');
  });

  it('names a malformed variable and what is wrong with it', async () => {
    const { code, stderr } = await run(['sync', '--once'], { ...good, HUBSPOT_BASE_URL: 'api.hubapi.com' });
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^fieldsync: HUBSPOT_BASE_URL must be an http\(s\) URL/);
  });

  it('rejects unknown commands and flags without a stack trace', async () => {
    const unknown = await run(['synk'], good);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'synk'/);
    const flag = await run(['sync', '--once', '--jsn'], good);
    expect(flag.code).toBe(2);
    expect(flag.stderr).not.toMatch(/\n\s+at /);
    const noOnce = await run(['sync'], good);
    expect(noOnce.stderr.trim()).toBe(
      'fieldsync: sync needs --once (for continuous sync use: fieldsync dev)',
    );
  });

  it('npm start: the sandbox demo syncs until both sides agree, then prints the summary', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'fieldsync-start-'));
    try {
      const { code, stdout } = await run(['start'], {
        FIELDSYNC_STATE_DIR: stateDir,
        FIELDSYNC_DEMO_PEOPLE: '30',
      });
      expect(code).toBe(0);
      expect(stdout).toMatch(/both systems agree after cycle 1/);
      expect(stdout).toMatch(
        /now in salesforce: Title "Chief Data Officer", Phone "\+14155550100", LastName "HubSpot-Edit"/,
      );
      expect(stdout).toMatch(/^system\s+polled\s+created\s+updated\s+write calls/m);
      expect(stdout).toMatch(/Both sandboxes agree, field by field:/);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('prints usage', async () => {
    const { code, stdout } = await run(['help'], {});
    expect(code).toBe(0);
    expect(stdout).toMatch(/fieldsync sync --once \[--json\]/);
  });
});
