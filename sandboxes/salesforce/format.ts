// Salesforce value formats: 18-character record ids and second-precision dateTimes.

const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

/** The 3-character case-safe suffix Salesforce appends to a 15-character id. */
export function idSuffix(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let flags = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15.charAt(chunk * 5 + i);
      if (c >= 'A' && c <= 'Z') flags |= 1 << i;
    }
    suffix += SUFFIX_ALPHABET.charAt(flags);
  }
  return suffix;
}

/**
 * Builds an 18-character id: key prefix, a fixed pod/instance part and a base-36 counter.
 * Only digits and upper-case letters, so ids sort the same case-sensitively and insensitively.
 */
export function makeId(keyPrefix: string, counter: number): string {
  const id15 = `${keyPrefix}SB${counter.toString(36).toUpperCase().padStart(10, '0')}`;
  return id15 + idSuffix(id15);
}

const ID_SHAPE = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;

/** Normalises a 15- or 18-character id to 18 characters; undefined when it is not id-shaped. */
export function to18(id: string): string | undefined {
  if (!ID_SHAPE.test(id)) return undefined;
  return id.length === 15 ? id + idSuffix(id) : id;
}

const DATETIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|([+-])(\d{2}):?(\d{2}))$/;

/**
 * Parses an ISO-8601 dateTime as SOQL and the REST API accept it (`Z`, `+0000`, `+01:00`,
 * optional fractional seconds) into epoch ms; undefined when malformed or out of range.
 */
export function parseDateTime(text: string): number | undefined {
  const m = DATETIME.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number);
  if (
    year === undefined ||
    month === undefined ||
    day === undefined ||
    hour === undefined ||
    minute === undefined ||
    second === undefined
  )
    return undefined;
  const ms = Number((m[7] ?? '0').padEnd(3, '0'));
  const local = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const check = new Date(local);
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    check.getUTCHours() !== hour ||
    check.getUTCMinutes() !== minute ||
    check.getUTCSeconds() !== second
  )
    return undefined;
  if (m[8] === 'Z') return local;
  const offsetHours = Number(m[10]);
  const offsetMinutes = Number(m[11]);
  if (offsetHours > 14 || offsetMinutes > 59) return undefined;
  const offset = (offsetHours * 60 + offsetMinutes) * 60_000;
  return m[9] === '-' ? local + offset : local - offset;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Validates a `YYYY-MM-DD` date; returns it unchanged or undefined. */
export function parseDate(text: string): string | undefined {
  const m = DATE.exec(text);
  if (!m) return undefined;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return new Date(t).toISOString().slice(0, 10) === text ? text : undefined;
}

export function floorSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

export function floorMinute(ms: number): number {
  return Math.floor(ms / 60_000) * 60_000;
}

/** Salesforce's response format: `2024-01-02T10:11:12.000+0000`, always at second precision. */
export function formatDateTime(ms: number): string {
  return `${new Date(floorSecond(ms)).toISOString().slice(0, 19)}.000+0000`;
}
