// Value normalization: one canonical spelling per value, so equal data compares equal across systems
// and a system's echo of a written value equals its shadow (which needs normalization to be idempotent).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type FieldKind, normalizeDomain, normalizeEmail, normalizeValue } from '../engine/index.ts';

const KINDS: readonly FieldKind[] = ['string', 'email', 'domain', 'phone', 'reference'];

/** Strings built from the pieces that make domain normalization interesting, so edge cases are common. */
const urlishArb = fc
  .array(
    fc.constantFrom(
      'www.',
      'WWW.',
      'http://',
      'HTTPS://',
      'acme',
      '.com',
      '.',
      ':443',
      ':',
      '8',
      '@',
      'user',
      '/',
      '/about',
      '?q=1',
      '#top',
      ' ',
      '\t',
      'É',
    ),
    { maxLength: 10 },
  )
  .map((parts) => parts.join(''));
const anyTextArb = fc.oneof(
  urlishArb,
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ maxLength: 20 }),
);

describe('normalizeDomain', () => {
  it.each([
    'https://www.Acme.com/about',
    'http://ACME.com',
    ' acme.com. ',
    'acme.com:443',
    'www.acme.com/',
    'acme.com',
    'HTTPS://user:pw@WWW.acme.com:8443/path?q=1#x',
    'acme.com?ref=x',
    'acme.com#top',
  ])('%j is acme.com', (raw) => {
    expect(normalizeDomain(raw)).toBe('acme.com');
  });

  it.each(['', '   ', '\t\n', 'https://', '/', 'user@', '?q=1'])('%j is blank', (raw) => {
    expect(normalizeDomain(raw)).toBeNull();
  });

  it('formerly one pass short of canonical, now a fixed point', () => {
    // Each of these needed a second pass before normalizeDomain looped to a fixed point.
    expect(normalizeDomain('www.www.acme.com')).toBe('acme.com');
    expect(normalizeDomain('acme.com:443.')).toBe('acme.com');
    expect(normalizeDomain('acme.com /about')).toBe('acme.com');
    expect(normalizeDomain('www. acme.com')).toBe('acme.com');
    expect(normalizeDomain('a@b@acme.com')).toBe('acme.com');
  });

  it('is idempotent and its result has no scheme, user, port, path, www. or trailing dot', () => {
    fc.assert(
      fc.property(anyTextArb, (raw) => {
        const once = normalizeDomain(raw);
        if (once === null) return;
        expect(normalizeDomain(once)).toBe(once);
        expect(once).not.toBe('');
        expect(once.trim()).toBe(once);
        expect(once.toLowerCase()).toBe(once);
        expect(once).not.toMatch(/^[a-z][a-z0-9+.-]*:\/\/|[@/?#]|:\d+$|\.$|^www\./);
      }),
      { numRuns: 5000 },
    );
  });

  it('maps the usual spellings of a domain to the domain', () => {
    const spellingArb = fc.record({
      scheme: fc.constantFrom('', 'http://', 'https://', 'HTTPS://'),
      user: fc.constantFrom('', 'user@', 'user:pw@'),
      www: fc.constantFrom('', 'www.', 'WWW.'),
      upper: fc.boolean(),
      dot: fc.constantFrom('', '.', '..'),
      port: fc.constantFrom('', ':443', ':8080'),
      path: fc.constantFrom('', '/', '/about', '/a/b?x=1', '?q=1', '#top'),
      pad: fc.constantFrom('', ' ', '\t', ' \n'),
    });
    fc.assert(
      fc.property(
        fc.domain().filter((d) => !d.startsWith('www.')),
        spellingArb,
        (domain, s) => {
          expect(normalizeDomain(domain)).toBe(domain);
          const host = s.upper ? domain.toUpperCase() : domain;
          const raw = `${s.pad}${s.scheme}${s.user}${s.www}${host}${s.dot}${s.port}${s.path}${s.pad}`;
          expect(normalizeDomain(raw)).toBe(domain);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('normalizeEmail', () => {
  it('trims and lowercases; blanks become null', () => {
    expect(normalizeEmail(' Ada.Lovelace@Example.COM ')).toBe('ada.lovelace@example.com');
    expect(normalizeEmail('')).toBeNull();
    expect(normalizeEmail(' \t\n ')).toBeNull();
  });

  it('is idempotent, and equal addresses in any case and padding normalize equal', () => {
    fc.assert(
      fc.property(
        anyTextArb,
        fc.emailAddress(),
        fc.constantFrom('', ' ', '\t', '\n '),
        fc.boolean(),
        (raw, email, pad, upper) => {
          const once = normalizeEmail(raw);
          if (once !== null) expect(normalizeEmail(once)).toBe(once);
          const spelled = `${pad}${upper ? email.toUpperCase() : email}${pad}`;
          expect(normalizeEmail(spelled)).toBe(normalizeEmail(email));
        },
      ),
      { numRuns: 5000 },
    );
  });
});

describe('normalizeValue', () => {
  it('examples per kind', () => {
    expect(normalizeValue('email', ' A@B.C ')).toBe('a@b.c');
    expect(normalizeValue('domain', 'https://www.Acme.com/about')).toBe('acme.com');
    expect(normalizeValue('string', '  Ada  ')).toBe('Ada');
    expect(normalizeValue('phone', ' +1 (555) 010-0000 ')).toBe('+15550100000');
    expect(normalizeValue('phone', '(415) 555-0100')).toBe('+14155550100');
    expect(normalizeValue('phone', '030 1234567', { defaultCountry: 'DE' })).toBe('+49301234567');
    expect(normalizeValue('phone', 'ext. 12')).toBe('ext. 12');
    expect(normalizeValue('reference', ' co_abc ')).toBe('co_abc');
    expect(normalizeValue('string', 42)).toBe('42');
    expect(normalizeValue('phone', 15550100)).toBe('15550100');
    expect(normalizeValue('string', false)).toBe('false');
  });

  it('null, undefined and blanks become null for every kind', () => {
    for (const kind of KINDS) {
      expect(normalizeValue(kind, null)).toBeNull();
      expect(normalizeValue(kind, undefined)).toBeNull();
      expect(normalizeValue(kind, '')).toBeNull();
      expect(normalizeValue(kind, ' \t\r\n ')).toBeNull();
    }
  });

  it('is idempotent for every kind and never yields an empty or padded string', () => {
    fc.assert(
      fc.property(fc.constantFrom(...KINDS), anyTextArb, (kind, raw) => {
        const once = normalizeValue(kind, raw);
        expect(normalizeValue(kind, once)).toBe(once);
        if (once !== null) {
          expect(once).not.toBe('');
          expect(once.trim()).toBe(once);
        } else {
          expect(raw.trim() === '' || kind === 'domain').toBe(true);
        }
      }),
      { numRuns: 5000 },
    );
  });
});
