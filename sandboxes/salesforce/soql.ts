// SOQL subset: tokenizer, recursive-descent parser and evaluator.
// Salesforce doc: "SOQL and SOSL Reference" (SELECT, WHERE, Comparison Operators, Logical
// Operators, ORDER BY, LIMIT, OFFSET, "Date Formats and Date Literals in WHERE").
import { parseDate, parseDateTime } from './format.ts';

export type SoqlErrorCode =
  | 'MALFORMED_QUERY'
  | 'INVALID_FIELD'
  | 'INVALID_TYPE'
  | 'INVALID_QUERY_FILTER_OPERATOR';

export class SoqlError extends Error {
  override name = 'SoqlError';
  readonly errorCode: SoqlErrorCode;
  constructor(errorCode: SoqlErrorCode, message: string) {
    super(message);
    this.errorCode = errorCode;
  }
}

// ---------------------------------------------------------------- tokens

type Token =
  | { kind: 'ident' | 'op' | 'punct' | 'eof'; text: string; pos: number }
  | { kind: 'string'; text: string; pos: number; raw: string }
  | { kind: 'number'; text: string; pos: number; value: number }
  | { kind: 'datetime'; text: string; pos: number; value: number }
  | { kind: 'date'; text: string; pos: number; value: string };

const DATETIME_RE = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2})(?![\w.:])/y;
const DATE_RE = /\d{4}-\d{2}-\d{2}(?![\w.:])/y;
const DATE_START_RE = /\d{4}-\d{2}-\d{2}/y;
const NUMBER_RE = /-?\d+(?:\.\d+)?(?![\w.])/y;
const IDENT_RE = /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/y;
const OPS = ['<=', '>=', '!=', '<>', '=', '<', '>'];
const STRING_ESCAPES = new Set([
  'n',
  'N',
  't',
  'T',
  'r',
  'R',
  'b',
  'B',
  'f',
  'F',
  '"',
  "'",
  '\\',
  '%',
  '_',
  'u',
]);

/** Salesforce points at problems as `ERROR at Row:r:Column:c` under a caret line. */
function located(source: string, pos: number, detail: string): string {
  const before = source.slice(0, pos);
  const row = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const lineEnd = source.indexOf('\n', pos);
  const line = source.slice(lineStart, lineEnd === -1 ? undefined : lineEnd);
  const column = pos - lineStart + 1;
  return `\n${line}\n${' '.repeat(column - 1)}^\nERROR at Row:${row}:Column:${column}\n${detail}`;
}

function malformed(source: string, pos: number, detail: string): SoqlError {
  return new SoqlError('MALFORMED_QUERY', located(source, pos, detail));
}

function sticky(re: RegExp, source: string, pos: number): string | undefined {
  re.lastIndex = pos;
  return re.exec(source)?.[0];
}

export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  while (pos < source.length) {
    const c = source.charAt(pos);
    if (/\s/.test(c)) {
      pos++;
      continue;
    }
    if (c === "'") {
      let i = pos + 1;
      let raw = '';
      for (;;) {
        const ch = source.charAt(i);
        if (i >= source.length)
          throw malformed(source, pos, `unterminated string literal starting at ${pos + 1}`);
        if (ch === "'") break;
        if (ch === '\\') {
          const next = source.charAt(i + 1);
          if (!STRING_ESCAPES.has(next))
            throw malformed(source, i, `Invalid string literal: illegal escape sequence '\\${next}'`);
          if (next === 'u' && !/^[0-9a-fA-F]{4}$/.test(source.slice(i + 2, i + 6)))
            throw malformed(source, i, 'Invalid string literal: illegal unicode escape');
          raw += source.slice(i, i + 2);
          i += 2;
          continue;
        }
        raw += ch;
        i++;
      }
      tokens.push({ kind: 'string', text: source.slice(pos, i + 1), pos, raw });
      pos = i + 1;
      continue;
    }
    if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: 'punct', text: c, pos });
      pos++;
      continue;
    }
    const op = OPS.find((o) => source.startsWith(o, pos));
    if (op !== undefined) {
      tokens.push({ kind: 'op', text: op, pos });
      pos += op.length;
      continue;
    }
    if (/[0-9-]/.test(c)) {
      const dt = sticky(DATETIME_RE, source, pos);
      if (dt !== undefined) {
        const value = parseDateTime(dt);
        if (value === undefined) throw malformed(source, pos, `invalid dateTime literal: ${dt}`);
        tokens.push({ kind: 'datetime', text: dt, pos, value });
        pos += dt.length;
        continue;
      }
      const d = sticky(DATE_RE, source, pos);
      if (d !== undefined) {
        const value = parseDate(d);
        if (value === undefined) throw malformed(source, pos, `invalid date literal: ${d}`);
        tokens.push({ kind: 'date', text: d, pos, value });
        pos += d.length;
        continue;
      }
      if (sticky(DATE_START_RE, source, pos) !== undefined) {
        const word = /^\S+/.exec(source.slice(pos))?.[0] ?? '';
        throw malformed(source, pos, `invalid date/dateTime literal: ${word}`);
      }
      const n = sticky(NUMBER_RE, source, pos);
      if (n !== undefined) {
        tokens.push({ kind: 'number', text: n, pos, value: Number(n) });
        pos += n.length;
        continue;
      }
    }
    const ident = sticky(IDENT_RE, source, pos);
    if (ident !== undefined) {
      tokens.push({ kind: 'ident', text: ident, pos });
      pos += ident.length;
      continue;
    }
    throw malformed(source, pos, `unexpected character: '${c}'`);
  }
  tokens.push({ kind: 'eof', text: '', pos: source.length });
  return tokens;
}

/** Decodes the escapes of a string literal's body (`\%` and `\_` become `%` and `_`). */
export function decodeStringLiteral(raw: string): string {
  return raw.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_m, e: string) => {
    if (e.length === 5) return String.fromCharCode(Number.parseInt(e.slice(1), 16));
    switch (e) {
      case 'n':
      case 'N':
        return '\n';
      case 't':
      case 'T':
        return '\t';
      case 'r':
      case 'R':
        return '\r';
      case 'b':
      case 'B':
        return '\b';
      case 'f':
      case 'F':
        return '\f';
      default:
        return e;
    }
  });
}

/** LIKE: `%` any run, `_` one character, `\%`/`\_` literal; case-insensitive. */
export function likeToRegExp(raw: string): RegExp {
  let pattern = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charAt(i);
    if (c === '\\') {
      const escaped = raw.slice(i, raw.charAt(i + 1) === 'u' ? i + 6 : i + 2);
      pattern += escapeRegExp(decodeStringLiteral(escaped));
      i += escaped.length - 1;
    } else if (c === '%') pattern += '.*';
    else if (c === '_') pattern += '.';
    else pattern += escapeRegExp(c);
  }
  return new RegExp(`^${pattern}$`, 'is');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

// ---------------------------------------------------------------- AST

export type Literal =
  | { kind: 'string'; raw: string; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' }
  | { kind: 'datetime'; value: number; text: string }
  | { kind: 'date'; value: string };

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

export interface FieldRef {
  name: string;
  pos: number;
}

export type Condition =
  | { type: 'compare'; field: FieldRef; op: CompareOp; value: Literal; pos: number }
  | { type: 'in'; field: FieldRef; negated: boolean; values: Literal[]; pos: number }
  | { type: 'like'; field: FieldRef; pattern: Literal; pos: number }
  | { type: 'and' | 'or'; operands: Condition[] }
  | { type: 'not'; operand: Condition };

export interface OrderItem {
  field: FieldRef;
  direction: 'ASC' | 'DESC';
  nulls: 'FIRST' | 'LAST';
}

export interface SoqlQuery {
  fields: FieldRef[];
  object: FieldRef;
  where: Condition | undefined;
  orderBy: OrderItem[];
  limit: number | undefined;
  offset: number | undefined;
}

const RESERVED = new Set([
  'select',
  'from',
  'where',
  'and',
  'or',
  'not',
  'in',
  'like',
  'order',
  'by',
  'limit',
  'offset',
  'null',
  'true',
  'false',
  'group',
  'having',
  'with',
  'for',
  'using',
  'includes',
  'excludes',
  'typeof',
]);

/** Salesforce caps OFFSET at 2,000. */
const MAX_OFFSET = 2000;

// ---------------------------------------------------------------- parser

class Parser {
  private readonly tokens: Token[];
  private readonly source: string;
  private index = 0;
  constructor(source: string) {
    this.source = source;
    this.tokens = tokenize(source);
  }

  private peek(): Token {
    const t = this.tokens[this.index] ?? this.tokens[this.tokens.length - 1];
    if (t === undefined) throw new Error('token stream is empty');
    return t;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.index++;
    return t;
  }

  private fail(t: Token, detail?: string): SoqlError {
    return malformed(
      this.source,
      t.pos,
      detail ?? (t.kind === 'eof' ? 'unexpected end of query' : `unexpected token: '${t.text}'`),
    );
  }

  private isKeyword(word: string, t: Token = this.peek()): boolean {
    return t.kind === 'ident' && t.text.toLowerCase() === word;
  }

  private acceptKeyword(word: string): boolean {
    if (!this.isKeyword(word)) return false;
    this.index++;
    return true;
  }

  private expectKeyword(word: string): void {
    const t = this.peek();
    if (!this.isKeyword(word, t))
      throw this.fail(
        t,
        t.kind === 'eof'
          ? `expecting ${word.toUpperCase()}, found end of query`
          : `unexpected token: '${t.text}', expecting ${word.toUpperCase()}`,
      );
    this.index++;
  }

  private expectPunct(p: string): void {
    const t = this.next();
    if (t.kind !== 'punct' || t.text !== p)
      throw this.fail(
        t,
        t.kind === 'eof'
          ? `expecting '${p}', found end of query`
          : `unexpected token: '${t.text}', expecting '${p}'`,
      );
  }

  private identifier(): FieldRef {
    const t = this.next();
    if (t.kind !== 'ident' || RESERVED.has(t.text.toLowerCase())) throw this.fail(t);
    return { name: t.text, pos: t.pos };
  }

  private integer(): number {
    const t = this.next();
    if (t.kind !== 'number' || !Number.isInteger(t.value) || t.value < 0)
      throw this.fail(t, `expecting a non-negative integer, found '${t.text}'`);
    return t.value;
  }

  parse(): SoqlQuery {
    this.expectKeyword('select');
    const fields = [this.identifier()];
    while (this.peek().kind === 'punct' && this.peek().text === ',') {
      this.index++;
      fields.push(this.identifier());
    }
    this.expectKeyword('from');
    const object = this.identifier();
    const where = this.acceptKeyword('where') ? this.condition() : undefined;
    const orderBy: OrderItem[] = [];
    if (this.acceptKeyword('order')) {
      this.expectKeyword('by');
      do orderBy.push(this.orderItem());
      while (this.peek().kind === 'punct' && this.peek().text === ',' && this.index++ >= 0);
    }
    const limit = this.acceptKeyword('limit') ? this.integer() : undefined;
    let offset: number | undefined;
    if (this.acceptKeyword('offset')) {
      const t = this.peek();
      offset = this.integer();
      if (offset > MAX_OFFSET) throw this.fail(t, `Maximum SOQL offset allowed is ${MAX_OFFSET}`);
    }
    const end = this.peek();
    if (end.kind !== 'eof') throw this.fail(end);
    return { fields, object, where, orderBy, limit, offset };
  }

  private orderItem(): OrderItem {
    const field = this.identifier();
    let direction: OrderItem['direction'] = 'ASC';
    if (this.acceptKeyword('desc')) direction = 'DESC';
    else this.acceptKeyword('asc');
    // Salesforce's default: nulls first when ascending, last when descending.
    let nulls: OrderItem['nulls'] = direction === 'ASC' ? 'FIRST' : 'LAST';
    if (this.acceptKeyword('nulls')) {
      if (this.acceptKeyword('first')) nulls = 'FIRST';
      else if (this.acceptKeyword('last')) nulls = 'LAST';
      else throw this.fail(this.peek());
    }
    return { field, direction, nulls };
  }

  /** SOQL refuses to mix AND and OR at one level without parentheses. */
  private condition(): Condition {
    const first = this.term();
    const t = this.peek();
    const joiner = this.isKeyword('and', t) ? 'and' : this.isKeyword('or', t) ? 'or' : undefined;
    if (joiner === undefined) return first;
    const operands = [first];
    while (this.acceptKeyword(joiner)) operands.push(this.term());
    const after = this.peek();
    if (this.isKeyword('and', after) || this.isKeyword('or', after)) throw this.fail(after);
    return { type: joiner, operands };
  }

  private term(): Condition {
    if (this.acceptKeyword('not')) return { type: 'not', operand: this.term() };
    const t = this.peek();
    if (t.kind === 'punct' && t.text === '(') {
      this.index++;
      const inner = this.condition();
      this.expectPunct(')');
      return inner;
    }
    return this.simple();
  }

  private simple(): Condition {
    const field = this.identifier();
    const t = this.next();
    if (t.kind === 'op') {
      const op: CompareOp = t.text === '<>' ? '!=' : isCompareOp(t.text) ? t.text : '=';
      return { type: 'compare', field, op, value: this.literal(), pos: t.pos };
    }
    if (this.isKeyword('like', t)) return { type: 'like', field, pattern: this.literal(), pos: t.pos };
    const negated = this.isKeyword('not', t);
    if (negated) {
      const inToken = this.next();
      if (!this.isKeyword('in', inToken)) throw this.fail(inToken);
    } else if (!this.isKeyword('in', t))
      throw this.fail(
        t,
        t.kind === 'eof'
          ? 'unexpected end of query, expecting an operator'
          : `unexpected token: '${t.text}', expecting an operator`,
      );
    this.expectPunct('(');
    const values = [this.literal()];
    while (this.peek().kind === 'punct' && this.peek().text === ',') {
      this.index++;
      values.push(this.literal());
    }
    this.expectPunct(')');
    return { type: 'in', field, negated, values, pos: t.pos };
  }

  private literal(): Literal {
    const t = this.next();
    switch (t.kind) {
      case 'string':
        return { kind: 'string', raw: t.raw, value: decodeStringLiteral(t.raw) };
      case 'number':
        return { kind: 'number', value: t.value };
      case 'datetime':
        return { kind: 'datetime', value: t.value, text: t.text };
      case 'date':
        return { kind: 'date', value: t.value };
      case 'ident': {
        const word = t.text.toLowerCase();
        if (word === 'true' || word === 'false') return { kind: 'boolean', value: word === 'true' };
        if (word === 'null') return { kind: 'null' };
        throw this.fail(t, `unexpected token: '${t.text}', expecting a literal value`);
      }
      default:
        throw this.fail(
          t,
          t.kind === 'eof'
            ? 'unexpected end of query, expecting a literal value'
            : `unexpected token: '${t.text}', expecting a literal value`,
        );
    }
  }
}

function isCompareOp(text: string): text is CompareOp {
  return ['=', '!=', '<', '<=', '>', '>='].includes(text);
}

export function parseSoql(source: string): SoqlQuery {
  return new Parser(source).parse();
}

// ---------------------------------------------------------------- evaluation

/**
 * How a field's values compare: ids case-sensitively, text case-insensitively, datetimes by
 * instant, numbers (currency, double) numerically, dates as `YYYY-MM-DD`.
 */
export type FieldKind = 'id' | 'text' | 'boolean' | 'datetime' | 'number' | 'date';

export interface SoqlObjectSchema {
  name: string;
  fields: ReadonlyArray<{ name: string; kind: FieldKind }>;
}

export type SoqlValue = string | number | boolean | null;
export type SoqlRow = Readonly<Record<string, SoqlValue>>;

export interface CompiledQuery {
  /** Canonical object name. */
  object: string;
  /** Canonical selected field names, in SELECT order, without duplicates. */
  fields: string[];
  /** Filters, sorts and applies OFFSET/LIMIT; returns the original row objects. */
  run(rows: Iterable<SoqlRow>): SoqlRow[];
  matches(row: SoqlRow): boolean;
  compare(a: SoqlRow, b: SoqlRow): number;
}

/** Comparable form of a non-null value. */
type Key = string | number | boolean;

function toKey(kind: FieldKind, value: string | number | boolean): Key | undefined {
  switch (kind) {
    case 'number':
      return typeof value === 'number' ? value : undefined;
    case 'date':
      return typeof value === 'string' ? value : undefined;
    case 'boolean':
      return typeof value === 'boolean' ? value : undefined;
    case 'datetime':
      return typeof value === 'string' ? parseDateTime(value) : undefined;
    case 'id':
      // A 15-character id equals its 18-character form: compare the case-sensitive part.
      return typeof value === 'string' ? value.slice(0, 15) : undefined;
    case 'text':
      return typeof value === 'string' ? value.toLowerCase() : undefined;
  }
}

function cmpKeys(a: Key, b: Key): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compileQuery(
  query: SoqlQuery,
  schemas: readonly SoqlObjectSchema[],
  source: string,
): CompiledQuery {
  const objectLower = query.object.name.toLowerCase();
  const schema = schemas.find((s) => s.name.toLowerCase() === objectLower);
  if (schema === undefined)
    throw new SoqlError(
      'INVALID_TYPE',
      located(
        source,
        query.object.pos,
        `sObject type '${query.object.name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
      ),
    );
  const field = (ref: FieldRef) => {
    const lower = ref.name.toLowerCase();
    const f = schema.fields.find((x) => x.name.toLowerCase() === lower);
    if (f === undefined)
      throw new SoqlError(
        'INVALID_FIELD',
        located(
          source,
          ref.pos,
          `No such column '${ref.name}' on entity '${schema.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
        ),
      );
    return f;
  };
  const fields = [...new Set(query.fields.map((ref) => field(ref).name))];

  const literalKey = (f: { name: string; kind: FieldKind }, lit: Literal, pos: number): Key | null => {
    const wrongType = (expected: string) =>
      new SoqlError(
        'INVALID_FIELD',
        located(source, pos, `value of filter criterion for field '${f.name}' must be of type ${expected}`),
      );
    if (lit.kind === 'null') return null;
    switch (f.kind) {
      case 'datetime':
        if (lit.kind !== 'datetime') throw wrongType('dateTime and should not be enclosed in quotes');
        return lit.value;
      case 'date':
        if (lit.kind !== 'date') throw wrongType('date and should not be enclosed in quotes');
        return lit.value;
      case 'number':
        if (lit.kind !== 'number') throw wrongType('double and should not be enclosed in quotes');
        return lit.value;
      case 'boolean':
        if (lit.kind !== 'boolean') throw wrongType('boolean and should not be enclosed in quotes');
        return lit.value;
      case 'id':
        if (lit.kind !== 'string') throw wrongType('string and should be enclosed in quotes');
        if (!/^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/.test(lit.value))
          throw new SoqlError(
            'INVALID_QUERY_FILTER_OPERATOR',
            located(source, pos, `invalid ID field: ${lit.value}`),
          );
        return lit.value.slice(0, 15);
      case 'text':
        if (lit.kind !== 'string') throw wrongType('string and should be enclosed in quotes');
        return lit.value.toLowerCase();
    }
  };

  type Predicate = (row: SoqlRow) => boolean;
  const rowKey = (row: SoqlRow, f: { name: string; kind: FieldKind }): Key | null => {
    const v = row[f.name];
    return v === null || v === undefined ? null : (toKey(f.kind, v) ?? null);
  };

  const compile = (cond: Condition): Predicate => {
    switch (cond.type) {
      case 'and': {
        const parts = cond.operands.map(compile);
        return (row) => parts.every((p) => p(row));
      }
      case 'or': {
        const parts = cond.operands.map(compile);
        return (row) => parts.some((p) => p(row));
      }
      case 'not': {
        const inner = compile(cond.operand);
        return (row) => !inner(row);
      }
      case 'compare': {
        const f = field(cond.field);
        const key = literalKey(f, cond.value, cond.pos);
        const op = cond.op;
        if (key === null) {
          if (op !== '=' && op !== '!=')
            throw new SoqlError(
              'INVALID_QUERY_FILTER_OPERATOR',
              located(source, cond.pos, `invalid operator on null: ${op}`),
            );
          return op === '=' ? (row) => rowKey(row, f) === null : (row) => rowKey(row, f) !== null;
        }
        if (f.kind === 'boolean' && op !== '=' && op !== '!=')
          throw new SoqlError(
            'INVALID_QUERY_FILTER_OPERATOR',
            located(source, cond.pos, `invalid operator on boolean field: ${op}`),
          );
        return (row) => {
          const v = rowKey(row, f);
          // Salesforce: a null field is "not equal" to any value and fails every ordering test.
          if (v === null) return op === '!=';
          const c = cmpKeys(v, key);
          switch (op) {
            case '=':
              return c === 0;
            case '!=':
              return c !== 0;
            case '<':
              return c < 0;
            case '<=':
              return c <= 0;
            case '>':
              return c > 0;
            case '>=':
              return c >= 0;
          }
        };
      }
      case 'in': {
        const f = field(cond.field);
        const keys = cond.values.map((v) => literalKey(f, v, cond.pos));
        const hasNull = keys.includes(null);
        const set = new Set(keys.filter((k) => k !== null));
        return (row) => {
          const v = rowKey(row, f);
          const found = v === null ? hasNull : set.has(v);
          return cond.negated ? !found : found;
        };
      }
      case 'like': {
        const f = field(cond.field);
        if (f.kind !== 'text' && f.kind !== 'id')
          throw new SoqlError(
            'INVALID_QUERY_FILTER_OPERATOR',
            located(source, cond.pos, `invalid operator on ${f.kind} field: LIKE`),
          );
        if (cond.pattern.kind !== 'string')
          throw new SoqlError(
            'INVALID_FIELD',
            located(
              source,
              cond.pos,
              `value of filter criterion for field '${f.name}' must be of type string and should be enclosed in quotes`,
            ),
          );
        const re = likeToRegExp(cond.pattern.raw);
        return (row) => {
          const v = row[f.name];
          return typeof v === 'string' && re.test(v);
        };
      }
    }
  };

  const matches: Predicate = query.where === undefined ? () => true : compile(query.where);
  const order = query.orderBy.map((item) => ({ ...item, f: field(item.field) }));
  const compare = (a: SoqlRow, b: SoqlRow): number => {
    for (const o of order) {
      const ka = rowKey(a, o.f);
      const kb = rowKey(b, o.f);
      if (ka === null || kb === null) {
        if (ka === kb) continue;
        const nullFirst = o.nulls === 'FIRST' ? -1 : 1;
        return ka === null ? nullFirst : -nullFirst;
      }
      const c = cmpKeys(ka, kb);
      if (c !== 0) return o.direction === 'ASC' ? c : -c;
    }
    return 0;
  };

  return {
    object: schema.name,
    fields,
    matches,
    compare,
    run(rows) {
      const selected = [...rows].filter(matches);
      if (order.length > 0) selected.sort(compare);
      const start = query.offset ?? 0;
      const end = query.limit === undefined ? undefined : start + query.limit;
      return selected.slice(start, end);
    },
  };
}

/** Parse, bind and run in one step; `rowsOf` supplies the rows of the queried object. */
export function runSoql(
  source: string,
  schemas: readonly SoqlObjectSchema[],
  rowsOf: (object: string) => Iterable<SoqlRow>,
): { compiled: CompiledQuery; rows: SoqlRow[] } {
  const compiled = compileQuery(parseSoql(source), schemas, source);
  return { compiled, rows: compiled.run(rowsOf(compiled.object)) };
}
