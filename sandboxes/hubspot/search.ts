// CRM search evaluation (HubSpot "Search" guide, reference B6.4): filter groups (OR of ANDs),
// one or more sorts with ties broken by id, and offset paging capped at 10,000 results.
// Pure: takes documents and a property-kind lookup, returns the ordered matches.
import { validationError } from './errors.ts';
import type { PropertyKind } from './schema.ts';

export const FILTER_OPERATORS = [
  'EQ',
  'NEQ',
  'LT',
  'LTE',
  'GT',
  'GTE',
  'BETWEEN',
  'IN',
  'NOT_IN',
  'HAS_PROPERTY',
  'NOT_HAS_PROPERTY',
  'CONTAINS_TOKEN',
  'NOT_CONTAINS_TOKEN',
] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

export interface SearchFilter {
  propertyName: string;
  operator: FilterOperator;
  value?: string | undefined;
  highValue?: string | undefined;
  values?: readonly string[] | undefined;
}

export interface SearchSort {
  propertyName: string;
  direction: 'ASCENDING' | 'DESCENDING';
}

export interface SearchQuery {
  filterGroups: readonly { filters: readonly SearchFilter[] }[];
  sorts: readonly SearchSort[];
  /** Free text matched against `queryProperties` by token prefix. */
  query?: string | undefined;
  queryProperties?: readonly string[] | undefined;
}

/** A searchable record: its id and property values (missing or '' = no value). */
export interface SearchDoc {
  id: string;
  properties: Readonly<Record<string, string | null | undefined>>;
}

export type KindOf = (propertyName: string) => PropertyKind | undefined;

/** Search limits (HubSpot "Search" guide; reference B6.4). */
export const SEARCH_MAX_LIMIT = 200;
export const SEARCH_MAX_RESULTS = 10_000;
export const SEARCH_MAX_GROUPS = 5;
export const SEARCH_MAX_FILTERS_PER_GROUP = 6;
export const SEARCH_MAX_FILTERS = 18;

type Comparable = number | string;

function propertyValue(doc: SearchDoc, name: string): string | undefined {
  if (!Object.hasOwn(doc.properties, name)) return undefined;
  const value = doc.properties[name];
  return value === null || value === undefined || value === '' ? undefined : value;
}

/** Datetime filter values may be ms-epoch strings or ISO dates. */
export function parseInstant(text: string): number {
  const trimmed = text.trim();
  return /^-?\d+$/.test(trimmed) ? Number(trimmed) : Date.parse(trimmed);
}

function comparable(kind: PropertyKind, text: string): Comparable {
  if (kind === 'datetime') return parseInstant(text);
  if (kind === 'number') return Number(text.trim());
  return text.toLowerCase();
}

function filterOperand(kind: PropertyKind, filter: SearchFilter, text: string | undefined): Comparable {
  if (text === undefined) {
    throw validationError(`Filter on ${filter.propertyName} with operator ${filter.operator} needs a value`);
  }
  const value = comparable(kind, text);
  if (typeof value === 'number' && Number.isNaN(value)) {
    throw validationError(`"${text}" is not a valid ${kind} value for property ${filter.propertyName}`);
  }
  return value;
}

function compare(a: Comparable, b: Comparable): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function tokens(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}*]+/u)
    .filter((t) => t.length > 0);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * CONTAINS_TOKEN: the value, split into words, contains every word of the needle; `*` is a
 * wildcard (matched against each word and against the whole value, e.g. `*@example-3.com`).
 */
export function containsToken(value: string, needle: string): boolean {
  const n = needle.trim().toLowerCase();
  if (n.length === 0) return false;
  if (n.includes('*')) {
    const pattern = new RegExp(`^${n.split('*').map(escapeRegExp).join('.*')}$`, 'u');
    return pattern.test(value.trim().toLowerCase()) || tokens(value).some((t) => pattern.test(t));
  }
  if (value.trim().toLowerCase() === n) return true;
  const have = new Set(tokens(value));
  const want = tokens(n);
  return want.length > 0 && want.every((t) => have.has(t));
}

/** Compiles one filter to a predicate; throws VALIDATION_ERROR for malformed filters. */
export function compileFilter(filter: SearchFilter, kindOf: KindOf): (doc: SearchDoc) => boolean {
  const kind = kindOf(filter.propertyName);
  if (kind === undefined) {
    throw validationError(
      `There was a problem with the request: property ${filter.propertyName} does not exist`,
    );
  }
  const name = filter.propertyName;
  const get = (doc: SearchDoc): Comparable | undefined => {
    const text = propertyValue(doc, name);
    return text === undefined ? undefined : comparable(kind, text);
  };
  const ordered = (test: (c: number) => boolean) => {
    const operand = filterOperand(kind, filter, filter.value);
    return (doc: SearchDoc) => {
      const v = get(doc);
      return v !== undefined && test(compare(v, operand));
    };
  };
  const list = (): Comparable[] => {
    if (filter.values === undefined || filter.values.length === 0) {
      throw validationError(`Filter on ${name} with operator ${filter.operator} needs values`);
    }
    return filter.values.map((v) => filterOperand(kind, filter, v));
  };
  const tokenNeedle = () => {
    if (filter.value === undefined)
      throw validationError(`Filter on ${name} with ${filter.operator} needs a value`);
    return filter.value;
  };
  switch (filter.operator) {
    case 'EQ':
      return ordered((c) => c === 0);
    case 'NEQ': {
      const operand = filterOperand(kind, filter, filter.value);
      return (doc) => {
        const v = get(doc);
        return v === undefined || compare(v, operand) !== 0;
      };
    }
    case 'LT':
      return ordered((c) => c < 0);
    case 'LTE':
      return ordered((c) => c <= 0);
    case 'GT':
      return ordered((c) => c > 0);
    case 'GTE':
      return ordered((c) => c >= 0);
    case 'BETWEEN': {
      const low = filterOperand(kind, filter, filter.value);
      const high = filterOperand(kind, filter, filter.highValue);
      return (doc) => {
        const v = get(doc);
        return v !== undefined && compare(v, low) >= 0 && compare(v, high) <= 0;
      };
    }
    case 'IN': {
      const values = list();
      return (doc) => {
        const v = get(doc);
        return v !== undefined && values.some((x) => compare(v, x) === 0);
      };
    }
    case 'NOT_IN': {
      const values = list();
      return (doc) => {
        const v = get(doc);
        return v === undefined || !values.some((x) => compare(v, x) === 0);
      };
    }
    case 'HAS_PROPERTY':
      return (doc) => propertyValue(doc, name) !== undefined;
    case 'NOT_HAS_PROPERTY':
      return (doc) => propertyValue(doc, name) === undefined;
    case 'CONTAINS_TOKEN': {
      const needle = tokenNeedle();
      return (doc) => {
        const v = propertyValue(doc, name);
        return v !== undefined && containsToken(v, needle);
      };
    }
    case 'NOT_CONTAINS_TOKEN': {
      const needle = tokenNeedle();
      return (doc) => {
        const v = propertyValue(doc, name);
        return v === undefined || !containsToken(v, needle);
      };
    }
  }
}

/** Accepts the three documented sort forms: `"prop"`, `"-prop"`, `{propertyName, direction}`. */
export function parseSort(
  raw: string | { propertyName: string; direction?: string | undefined },
): SearchSort {
  if (typeof raw !== 'string') {
    const direction = raw.direction ?? 'ASCENDING';
    if (direction !== 'ASCENDING' && direction !== 'DESCENDING') {
      throw validationError(`Invalid sort direction: ${direction}`);
    }
    return { propertyName: raw.propertyName, direction };
  }
  const text = raw.trim();
  if (text.startsWith('{')) {
    // Some callers JSON-encode the object form because the SDK types `sorts` as string[].
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw validationError(`Invalid sort: ${text}`);
    }
    if (typeof parsed === 'object' && parsed !== null && 'propertyName' in parsed) {
      const { propertyName } = parsed;
      const direction = 'direction' in parsed ? parsed.direction : undefined;
      if (typeof propertyName === 'string' && (direction === undefined || typeof direction === 'string')) {
        return parseSort({ propertyName, direction });
      }
    }
    throw validationError(`Invalid sort: ${text}`);
  }
  return text.startsWith('-')
    ? { propertyName: text.slice(1), direction: 'DESCENDING' }
    : { propertyName: text, direction: 'ASCENDING' };
}

function byId(a: SearchDoc, b: SearchDoc): number {
  const x = Number(a.id);
  const y = Number(b.id);
  return x !== y ? x - y : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function queryPredicate(query: string, properties: readonly string[]): (doc: SearchDoc) => boolean {
  const words = tokens(query);
  return (doc) => {
    const have = properties.flatMap((p) => tokens(propertyValue(doc, p) ?? ''));
    return words.every((w) => have.some((h) => h.startsWith(w)));
  };
}

/**
 * All matches in result order. A missing value sorts after every value ascending (before every
 * value descending); ties are broken by id ascending so paging is stable.
 */
export function runSearch<D extends SearchDoc>(docs: readonly D[], query: SearchQuery, kindOf: KindOf): D[] {
  const groups = query.filterGroups.map((g) => g.filters.map((f) => compileFilter(f, kindOf)));
  const sorts = query.sorts.map((s) => {
    const kind = kindOf(s.propertyName);
    if (kind === undefined) throw validationError(`Cannot sort by unknown property ${s.propertyName}`);
    return { ...s, kind };
  });
  const text = query.query?.trim() ?? '';
  const matchesText = text === '' ? () => true : queryPredicate(text, query.queryProperties ?? []);
  const matches = docs.filter(
    (doc) => matchesText(doc) && (groups.length === 0 || groups.some((g) => g.every((p) => p(doc)))),
  );
  return matches.sort((a, b) => {
    for (const sort of sorts) {
      const x = propertyValue(a, sort.propertyName);
      const y = propertyValue(b, sort.propertyName);
      let c = 0;
      if (x === undefined || y === undefined) c = x === y ? 0 : x === undefined ? 1 : -1;
      else c = compare(comparable(sort.kind, x), comparable(sort.kind, y));
      if (c !== 0) return sort.direction === 'ASCENDING' ? c : -c;
    }
    return byId(a, b);
  });
}

export interface SearchPage<D extends SearchDoc> {
  total: number;
  results: D[];
  /** Offset of the next page, when there is one. */
  next: number | undefined;
}

/** Offset paging: `after` is the offset as a string; offsets at or past 10,000 are a 400. */
export function pageOf<D extends SearchDoc>(
  matches: readonly D[],
  after: number,
  limit: number,
): SearchPage<D> {
  if (after >= SEARCH_MAX_RESULTS) {
    throw validationError(
      `There was a problem with the request: paging past ${SEARCH_MAX_RESULTS} results is not supported (after=${after})`,
    );
  }
  const results = matches.slice(after, after + limit);
  const end = after + results.length;
  return { total: matches.length, results, next: end < matches.length ? end : undefined };
}
