import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDateTime, makeId } from '../sandboxes/salesforce/format.ts';
import {
  parseSoql,
  runSoql,
  SoqlError,
  type SoqlObjectSchema,
  type SoqlRow,
} from '../sandboxes/salesforce/soql.ts';

const SCHEMA: SoqlObjectSchema[] = [
  {
    name: 'Contact',
    fields: [
      { name: 'Id', kind: 'id' },
      { name: 'LastName', kind: 'text' },
      { name: 'Title', kind: 'text' },
      { name: 'SystemModstamp', kind: 'datetime' },
      { name: 'IsDeleted', kind: 'boolean' },
    ],
  },
];

const T0 = Date.parse('2024-01-01T00:00:00Z');

function row(n: number, stampSec: number, lastName: string, title: string | null = null): SoqlRow {
  return {
    Id: makeId('003', n),
    LastName: lastName,
    Title: title,
    SystemModstamp: formatDateTime(T0 + stampSec * 1000),
    IsDeleted: false,
  };
}

const ROWS: SoqlRow[] = [
  row(1, 0, 'Lovelace', 'CTO'),
  row(2, 0, 'hopper', null),
  row(3, 5, 'Turing', 'VP Sales'),
  row(4, 5, "O'Brien", '100% Legit_Title'),
  row(5, 3600, 'Liskov', 'cto'),
];

function ids(soql: string, rows: readonly SoqlRow[] = ROWS): string[] {
  return runSoql(soql, SCHEMA, () => rows).rows.map((r) => String(r.Id));
}

function idOf(n: number): string {
  return makeId('003', n);
}

function soqlError(soql: string): SoqlError {
  try {
    runSoql(soql, SCHEMA, () => ROWS);
  } catch (e) {
    if (e instanceof SoqlError) return e;
    throw e;
  }
  throw new Error(`expected ${soql} to fail`);
}

describe('SOQL parser', () => {
  it('parses the connector cursor query into a tree', () => {
    const q = parseSoql(
      "select Id, LastName from Contact where SystemModstamp > 2024-01-01T00:00:00Z or (SystemModstamp = 2024-01-01T00:00:00Z and Id > '003000000000001') order by SystemModstamp asc, Id desc nulls first limit 10 offset 2",
    );
    expect(q.fields.map((f) => f.name)).toEqual(['Id', 'LastName']);
    expect(q.object.name).toBe('Contact');
    expect(q.where).toMatchObject({ type: 'or', operands: [{ type: 'compare', op: '>' }, { type: 'and' }] });
    expect(q.orderBy).toEqual([
      { field: expect.objectContaining({ name: 'SystemModstamp' }), direction: 'ASC', nulls: 'FIRST' },
      { field: expect.objectContaining({ name: 'Id' }), direction: 'DESC', nulls: 'FIRST' },
    ]);
    expect(q.limit).toBe(10);
    expect(q.offset).toBe(2);
  });

  it.each([
    ['SELECT Id Contact', 'MALFORMED_QUERY', 11],
    ['SELECT FROM Contact', 'MALFORMED_QUERY', 8],
    ['SELECT Id FROM Contact WHERE', 'MALFORMED_QUERY', 29],
    ["SELECT Id FROM Contact WHERE LastName = 'abc", 'MALFORMED_QUERY', 41],
    ["SELECT Id FROM Contact WHERE LastName = 'a\\qb'", 'MALFORMED_QUERY', 43],
    ['SELECT Id FROM Contact WHERE SystemModstamp > 2024-13-01T00:00:00Z', 'MALFORMED_QUERY', 47],
    ['SELECT Id FROM Contact WHERE SystemModstamp > 2024-01-01T00:00:00', 'MALFORMED_QUERY', 47],
    ["SELECT Id FROM Contact WHERE LastName = 'a' AND Title = 'b' OR Title = 'c'", 'MALFORMED_QUERY', 61],
    ['SELECT Id FROM Contact LIMIT -1', 'MALFORMED_QUERY', 30],
    ['SELECT Id FROM Contact ORDER BY', 'MALFORMED_QUERY', 32],
    ['SELECT Id FROM Contact WHERE Title IN ()', 'MALFORMED_QUERY', 40],
    ['SELECT Id FROM Contact GROUP BY Title', 'MALFORMED_QUERY', 24],
    ['SELECT Id FROM Contact WHERE LastName # 1', 'MALFORMED_QUERY', 39],
    ['SELECT Id FROM Contact OFFSET 2001', 'MALFORMED_QUERY', 31],
    ['SELECT Id FROM Lead', 'INVALID_TYPE', 16],
    ['SELECT Id, Foo__c FROM Contact', 'INVALID_FIELD', 12],
    ['SELECT Id FROM Contact ORDER BY Bar', 'INVALID_FIELD', 33],
    ["SELECT Id FROM Contact WHERE SystemModstamp > '2024-01-01T00:00:00Z'", 'INVALID_FIELD', 45],
    ['SELECT Id FROM Contact WHERE SystemModstamp > 2024-01-01', 'INVALID_FIELD', 45],
    ['SELECT Id FROM Contact WHERE LastName = 5', 'INVALID_FIELD', 39],
    ["SELECT Id FROM Contact WHERE Id = 'nope'", 'INVALID_QUERY_FILTER_OPERATOR', 33],
  ])('rejects %s with %s at column %i', (soql, code, column) => {
    const e = soqlError(soql);
    expect(e.errorCode).toBe(code);
    expect(e.message).toContain(`ERROR at Row:1:Column:${column}`);
    // The caret line points at the same column.
    const lines = e.message.split('\n');
    expect(lines[2]?.indexOf('^')).toBe(column - 1);
  });

  it('reports the row of a problem in a multi-line query', () => {
    const e = soqlError('SELECT Id\nFROM Contact\nWHERE Nope = 1');
    expect(e.errorCode).toBe('INVALID_FIELD');
    expect(e.message).toContain('ERROR at Row:3:Column:7');
  });
});

describe('SOQL evaluation', () => {
  it('treats keywords and field/object names case-insensitively and returns canonical names', () => {
    const { compiled, rows } = runSoql(
      "SeLeCt lastname, ID FrOm contact WhErE lastname = 'HOPPER'",
      SCHEMA,
      () => ROWS,
    );
    expect(compiled.fields).toEqual(['LastName', 'Id']);
    expect(compiled.object).toBe('Contact');
    expect(rows.map((r) => r.Id)).toEqual([idOf(2)]);
  });

  it('compares datetimes by instant whatever the literal form', () => {
    const forms = [
      '2024-01-01T00:00:05Z',
      '2024-01-01T00:00:05.000Z',
      '2024-01-01T00:00:05+0000',
      '2024-01-01T01:00:05+01:00',
      '2023-12-31T16:00:05-08:00',
    ];
    for (const lit of forms) {
      expect(ids(`SELECT Id FROM Contact WHERE SystemModstamp = ${lit} ORDER BY Id`)).toEqual([
        idOf(3),
        idOf(4),
      ]);
      expect(ids(`SELECT Id FROM Contact WHERE SystemModstamp >= ${lit} ORDER BY Id`)).toEqual([
        idOf(3),
        idOf(4),
        idOf(5),
      ]);
    }
  });

  it('evaluates the compound (SystemModstamp, Id) cursor exactly', () => {
    const soql = `SELECT Id FROM Contact WHERE SystemModstamp > 2024-01-01T00:00:05Z OR (SystemModstamp = 2024-01-01T00:00:05Z AND Id > '${idOf(3)}') ORDER BY SystemModstamp ASC, Id ASC`;
    expect(ids(soql)).toEqual([idOf(4), idOf(5)]);
  });

  it('accepts 15-character ids as equal to their 18-character form', () => {
    expect(ids(`SELECT Id FROM Contact WHERE Id = '${idOf(4).slice(0, 15)}'`)).toEqual([idOf(4)]);
  });

  it('handles IN, NOT IN, NOT, null and != like Salesforce', () => {
    expect(ids("SELECT Id FROM Contact WHERE Title IN ('cto', 'VP SALES') ORDER BY Id")).toEqual([
      idOf(1),
      idOf(3),
      idOf(5),
    ]);
    expect(ids("SELECT Id FROM Contact WHERE Title NOT IN ('cto') ORDER BY Id")).toEqual([
      idOf(2),
      idOf(3),
      idOf(4),
    ]);
    expect(ids('SELECT Id FROM Contact WHERE Title = null')).toEqual([idOf(2)]);
    expect(ids('SELECT Id FROM Contact WHERE Title != null ORDER BY Id')).toEqual([
      idOf(1),
      idOf(3),
      idOf(4),
      idOf(5),
    ]);
    // A null field is "not equal" to a value and fails ordering comparisons.
    expect(ids("SELECT Id FROM Contact WHERE Title != 'CTO' ORDER BY Id")).toEqual([
      idOf(2),
      idOf(3),
      idOf(4),
    ]);
    expect(ids("SELECT Id FROM Contact WHERE Title < 'zzz' ORDER BY Id")).toEqual([
      idOf(1),
      idOf(3),
      idOf(4),
      idOf(5),
    ]);
    expect(
      ids("SELECT Id FROM Contact WHERE NOT (Title = 'CTO' OR LastName = 'Turing') ORDER BY Id"),
    ).toEqual([idOf(2), idOf(4)]);
    expect(ids('SELECT Id FROM Contact WHERE IsDeleted = true')).toEqual([]);
    expect(
      ids("SELECT Id FROM Contact WHERE LastName <> 'lovelace' AND IsDeleted = false ORDER BY Id"),
    ).toEqual([idOf(2), idOf(3), idOf(4), idOf(5)]);
  });

  it('decodes string escapes and supports LIKE wildcards with escaped % and _', () => {
    expect(ids("SELECT Id FROM Contact WHERE LastName = 'O\\'Brien'")).toEqual([idOf(4)]);
    expect(ids("SELECT Id FROM Contact WHERE LastName LIKE 'l%' ORDER BY Id")).toEqual([idOf(1), idOf(5)]);
    expect(ids("SELECT Id FROM Contact WHERE LastName LIKE '_opper'")).toEqual([idOf(2)]);
    expect(ids("SELECT Id FROM Contact WHERE Title LIKE '100\\% Legit\\_%'")).toEqual([idOf(4)]);
    expect(ids("SELECT Id FROM Contact WHERE Title LIKE '100\\%_Legit%'")).toEqual([idOf(4)]);
    expect(ids("SELECT Id FROM Contact WHERE Title LIKE '100\\%Legit%'")).toEqual([]);
    expect(ids("SELECT Id FROM Contact WHERE NOT LastName LIKE '%i%' ORDER BY Id")).toEqual([
      idOf(1),
      idOf(2),
    ]);
  });

  it('orders text case-insensitively with Salesforce null placement', () => {
    expect(ids('SELECT Id FROM Contact ORDER BY LastName')).toEqual([
      idOf(2),
      idOf(5),
      idOf(1),
      idOf(4),
      idOf(3),
    ]);
    // ASC defaults to NULLS FIRST, DESC to NULLS LAST.
    expect(ids('SELECT Id FROM Contact ORDER BY Title, Id')[0]).toBe(idOf(2));
    expect(ids('SELECT Id FROM Contact ORDER BY Title DESC, Id').at(-1)).toBe(idOf(2));
    expect(ids('SELECT Id FROM Contact ORDER BY Title ASC NULLS LAST, Id').at(-1)).toBe(idOf(2));
    expect(ids('SELECT Id FROM Contact ORDER BY Title DESC NULLS FIRST, Id')[0]).toBe(idOf(2));
  });

  it('applies OFFSET then LIMIT', () => {
    expect(ids('SELECT Id FROM Contact ORDER BY Id LIMIT 2 OFFSET 1')).toEqual([idOf(2), idOf(3)]);
    expect(ids('SELECT Id FROM Contact ORDER BY Id LIMIT 0')).toEqual([]);
  });
});

// Rows with few distinct stamps (so many ties) and ids in random creation order.
const rowsArb = fc
  .uniqueArray(fc.integer({ min: 1, max: 5000 }), { minLength: 0, maxLength: 60 })
  .chain((counters) =>
    fc.tuple(
      fc.constant(counters),
      fc.array(fc.integer({ min: 0, max: 4 }), { minLength: counters.length, maxLength: counters.length }),
    ),
  )
  .map(([counters, stamps]) => counters.map((n, i) => row(n, (stamps[i] ?? 0) * 7, `Name${n % 4}`)));

/** Reference order written independently: ISO strings of one offset sort like instants. */
function byStampThenId(a: SoqlRow, b: SoqlRow): number {
  const sa = String(a.SystemModstamp);
  const sb = String(b.SystemModstamp);
  if (sa !== sb) return sa < sb ? -1 : 1;
  return String(a.Id) < String(b.Id) ? -1 : String(a.Id) > String(b.Id) ? 1 : 0;
}

describe('SOQL properties', () => {
  it('ORDER BY SystemModstamp, Id with LIMIT equals sorting and slicing in JS', () => {
    fc.assert(
      fc.property(rowsArb, fc.integer({ min: 0, max: 70 }), fc.boolean(), (rows, limit, desc) => {
        const dir = desc ? 'DESC' : 'ASC';
        const got = ids(
          `SELECT Id FROM Contact ORDER BY SystemModstamp ${dir}, Id ${dir} LIMIT ${limit}`,
          rows,
        );
        const sorted = [...rows].sort(byStampThenId);
        if (desc) sorted.reverse();
        expect(got).toEqual(sorted.slice(0, limit).map((r) => String(r.Id)));
      }),
    );
  });

  it('keyset paging on (SystemModstamp, Id) visits every row exactly once in order', () => {
    fc.assert(
      fc.property(rowsArb, fc.integer({ min: 1, max: 9 }), (rows, pageSize) => {
        const seen: string[] = [];
        let cursor: SoqlRow | undefined;
        for (let guard = 0; guard <= rows.length; guard++) {
          const at =
            cursor === undefined ? undefined : String(cursor.SystemModstamp).replace('.000+0000', 'Z');
          const where =
            cursor === undefined
              ? ''
              : `WHERE SystemModstamp > ${at} OR (SystemModstamp = ${at} AND Id > '${String(cursor.Id)}')`;
          const page = runSoql(
            `SELECT Id, SystemModstamp FROM Contact ${where} ORDER BY SystemModstamp ASC, Id ASC LIMIT ${pageSize}`,
            SCHEMA,
            () => rows,
          ).rows;
          seen.push(...page.map((r) => String(r.Id)));
          cursor = page.at(-1);
          if (page.length < pageSize) break;
        }
        expect(seen).toEqual([...rows].sort(byStampThenId).map((r) => String(r.Id)));
      }),
    );
  });
});
