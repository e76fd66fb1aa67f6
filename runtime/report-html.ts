// The audit report as one self-contained HTML page: inline CSS and inline SVG charts drawn here, no
// script, font, stylesheet or image from anywhere (a Content-Security-Policy of `default-src 'none'`
// says so to the browser). Every chart has a title, a description, axis labels and a data table.
import type { Activity, AuditReport, ConflictOutcome } from './report.ts';

/** Colour-blind-safe palette (Okabe & Ito). */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#000000', '#F0E442'];

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const esc = escapeHtml;

export interface ChartSeries {
  name: string;
  values: readonly number[];
}

export interface ChartSpec {
  /** Used for element ids and `data-chart`. */
  id: string;
  title: string;
  /** One sentence for screen readers: what the chart shows. */
  description: string;
  categories: readonly string[];
  /** Axis label of the categories (the x axis of vertical bars). */
  categoryLabel: string;
  valueLabel: string;
  series: readonly ChartSeries[];
  /** Shown instead of bars when every value is zero. */
  emptyText: string;
  /** Horizontal bars (long category names); vertical otherwise. */
  horizontal?: boolean;
  /** Label only every n-th category (dense time axes); all by default. */
  labelEvery?: number;
}

/** The smallest 1, 2 or 5 times a power of ten at or above `max`, and integer steps up to it. */
export function niceScale(max: number): { top: number; ticks: number[] } {
  if (max <= 0) return { top: 1, ticks: [0, 1] };
  const magnitude = 10 ** Math.floor(Math.log10(max));
  const top = [1, 2, 5, 10].map((m) => m * magnitude).find((v) => v >= max) ?? 10 * magnitude;
  const step = Math.max(1, top / 5);
  const ticks: number[] = [];
  for (let v = 0; v <= top + 1e-9; v += step) ticks.push(Math.round(v));
  return { top, ticks };
}

/** Grouped bars as an inline SVG; one `rect.bar` per non-zero value, carrying its data attributes. */
export function barChart(spec: ChartSpec): string {
  const titleId = `${spec.id}-title`;
  const descId = `${spec.id}-desc`;
  const max = Math.max(0, ...spec.series.flatMap((s) => s.values));
  const empty = max === 0 || spec.categories.length === 0;
  const horizontal = spec.horizontal === true;
  const longest = Math.max(0, ...spec.categories.map((c) => c.length));
  const left = horizontal ? Math.min(260, 16 + longest * 7) : 56;
  const width = 760;
  const rowHeight = Math.max(18, 8 + spec.series.length * 12);
  const plotLength = horizontal ? Math.max(60, spec.categories.length * rowHeight) : 220;
  const top = 16;
  const bottom = 52;
  const legendHeight = spec.series.length > 1 ? 22 : 0;
  const height = top + plotLength + bottom + legendHeight;
  const plotWidth = width - left - 20;
  const { top: scaleTop, ticks } = niceScale(max);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="${titleId} ${descId}" viewBox="0 0 ${width} ${height}" width="100%" preserveAspectRatio="xMinYMin meet">`,
    `<title id="${titleId}">${esc(spec.title)}</title>`,
    `<desc id="${descId}">${esc(spec.description)}</desc>`,
  );
  const axisY = top + plotLength;
  // Value axis with gridlines.
  for (const tick of ticks) {
    const pos = (tick / scaleTop) * (horizontal ? plotWidth : plotLength);
    if (horizontal) {
      const x = left + pos;
      parts.push(
        `<line class="grid" x1="${x.toFixed(1)}" y1="${top}" x2="${x.toFixed(1)}" y2="${axisY}"/>`,
        `<text class="tick" x="${x.toFixed(1)}" y="${axisY + 16}" text-anchor="middle">${tick}</text>`,
      );
    } else {
      const y = axisY - pos;
      parts.push(
        `<line class="grid" x1="${left}" y1="${y.toFixed(1)}" x2="${left + plotWidth}" y2="${y.toFixed(1)}"/>`,
        `<text class="tick" x="${left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end">${tick}</text>`,
      );
    }
  }
  parts.push(
    `<line class="axis" x1="${left}" y1="${top}" x2="${left}" y2="${axisY}"/>`,
    `<line class="axis" x1="${left}" y1="${axisY}" x2="${left + plotWidth}" y2="${axisY}"/>`,
  );
  // Axis titles.
  const valueTitle = horizontal
    ? `<text class="axis-label" x="${left + plotWidth / 2}" y="${axisY + 36}" text-anchor="middle">${esc(spec.valueLabel)}</text>`
    : `<text class="axis-label" x="14" y="${top + plotLength / 2}" text-anchor="middle" transform="rotate(-90 14 ${top + plotLength / 2})">${esc(spec.valueLabel)}</text>`;
  const categoryTitle = horizontal
    ? `<text class="axis-label" x="12" y="${top - 4}" text-anchor="start">${esc(spec.categoryLabel)}</text>`
    : `<text class="axis-label" x="${left + plotWidth / 2}" y="${axisY + 40}" text-anchor="middle">${esc(spec.categoryLabel)}</text>`;
  parts.push(valueTitle, categoryTitle);

  const slot = (horizontal ? plotLength : plotWidth) / Math.max(1, spec.categories.length);
  const every = Math.max(1, spec.labelEvery ?? 1);
  spec.categories.forEach((category, i) => {
    if (i % every !== 0) return;
    const mid = i * slot + slot / 2;
    parts.push(
      horizontal
        ? `<text class="category" x="${left - 8}" y="${(top + mid + 4).toFixed(1)}" text-anchor="end">${esc(category)}</text>`
        : `<text class="category" x="${(left + mid).toFixed(1)}" y="${axisY + 16}" text-anchor="middle">${esc(category)}</text>`,
    );
  });

  if (empty) {
    parts.push(
      `<text class="empty" x="${left + plotWidth / 2}" y="${top + plotLength / 2}" text-anchor="middle">${esc(spec.emptyText)}</text>`,
    );
  } else {
    const groups = spec.series.length;
    const gap = Math.min(6, slot * 0.2);
    const barSize = Math.max(1, (slot - gap) / groups);
    spec.series.forEach((series, s) => {
      const colour = PALETTE[s % PALETTE.length] ?? '#000000';
      series.values.forEach((value, i) => {
        if (value <= 0) return;
        const length = (value / scaleTop) * (horizontal ? plotWidth : plotLength);
        const offset = i * slot + gap / 2 + s * barSize;
        const label = `${spec.categories[i] ?? ''}: ${value} (${series.name})`;
        const [x, y, w, h] = horizontal
          ? [left, top + offset, length, barSize]
          : [left + offset, axisY - length, barSize, length];
        parts.push(
          `<rect class="bar" data-series="${esc(series.name)}" data-category="${esc(spec.categories[i] ?? '')}" data-value="${value}" x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="${colour}"><title>${esc(label)}</title></rect>`,
        );
      });
    });
  }
  if (legendHeight > 0) {
    let x = left;
    const y = height - legendHeight + 4;
    spec.series.forEach((series, s) => {
      const colour = PALETTE[s % PALETTE.length] ?? '#000000';
      parts.push(
        `<rect class="swatch" x="${x}" y="${y}" width="12" height="12" fill="${colour}"/>`,
        `<text class="legend" x="${x + 16}" y="${y + 10}">${esc(series.name)}</text>`,
      );
      x += 32 + series.name.length * 7;
    });
  }
  parts.push('</svg>');
  const table = dataTable(
    `${spec.title}: data`,
    [spec.categoryLabel, ...spec.series.map((s) => s.name)],
    spec.categories.map((c, i) => [c, ...spec.series.map((s) => String(s.values[i] ?? 0))]),
  );
  return [
    `<figure class="chart" id="${esc(spec.id)}" data-chart="${esc(spec.id)}">`,
    `<h2>${esc(spec.title)}</h2>`,
    parts.join('\n'),
    `<details><summary>Data table</summary>${table}</details>`,
    '</figure>',
  ].join('\n');
}

function dataTable(caption: string, header: readonly string[], rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return `<p class="none">${esc(caption)}: none.</p>`;
  const head = header.map((h) => `<th scope="col">${esc(h)}</th>`).join('');
  const body = rows
    .map(
      (r) =>
        `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row">${esc(c)}</th>` : /^\d+$/.test(c) ? `<td>${esc(c)}</td>` : `<td class="text">${esc(c)}</td>`)).join('')}</tr>`,
    )
    .join('\n');
  return `<table><caption>${esc(caption)}</caption><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** Reconciliation audits a missing record as field `*` and a record not linked in a system as `link`. */
/** The records-per-object table of both reports (terminal and HTML): its headers, then its rows. */
export function recordsTable(report: AuditReport): [string[], string[][]] {
  return [
    [
      'object',
      'canonical',
      'active',
      'held',
      'deleted',
      'quarantined',
      'merged',
      'forgotten',
      ...report.systems.map((s) => `linked in ${s}`),
    ],
    report.records.map((r) => [
      r.object,
      ...[r.canonical, r.active, r.held, r.deleted, r.quarantined, r.merged, r.forgotten].map(String),
      ...report.systems.map((s) => String(r.linked[s] ?? 0)),
    ]),
  ];
}

/** An activity row's counts, in the column order of both reports. */
export function activityCounts(a: Activity): string[] {
  return [
    a.changes,
    a.fieldChanges,
    a.created,
    a.updated,
    a.deleted,
    a.merges,
    a.echoes,
    a.conflicts,
    a.drift,
    a.writeFailures,
  ].map(String);
}

export function driftFieldLabel(object: string, field: string): string {
  if (field === '*') return `${object} (record missing)`;
  if (field === 'link') return `${object} (not linked)`;
  return `${object}.${field}`;
}

const OUTCOME_LABEL: Record<ConflictOutcome, string> = {
  'incoming-won': 'later edit won',
  'existing-kept': 'earlier value kept',
};

/** Bucket labels: hours as `MM-DD HH:00` (UTC), days as `YYYY-MM-DD`. */
function bucketLabel(iso: string, bucketMinutes: number): string {
  return bucketMinutes < 1440 ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(0, 10);
}

/** The charts of a report, as specs (also what the page's tests count bars against). */
export function reportCharts(report: AuditReport): ChartSpec[] {
  const { series } = report;
  const categories = series.buckets.map((b) => bucketLabel(b.start, series.bucketMinutes));
  const syncSeries: ChartSeries[] = [];
  for (const system of report.systems) {
    const changes = series.buckets.map((b) => b.changes[system] ?? 0);
    const writes = series.buckets.map((b) => b.writes[system] ?? 0);
    if (changes.some((v) => v > 0)) syncSeries.push({ name: `changes from ${system}`, values: changes });
    if (writes.some((v) => v > 0)) syncSeries.push({ name: `written to ${system}`, values: writes });
  }
  const unit = series.bucketMinutes < 1440 ? 'hour' : 'day';
  const labelEvery = Math.max(1, Math.ceil(categories.length / 8));
  return [
    {
      id: 'syncs',
      title: 'Syncs over time',
      description: `Record changes merged from each system, and records fieldsync wrote into each system, per ${unit} (UTC), from ${report.period.since} to ${report.period.until}.`,
      categories,
      categoryLabel: `Time (UTC, per ${unit})`,
      valueLabel: 'Records',
      series: syncSeries,
      emptyText: 'No syncs in this period',
      labelEvery,
    },
    {
      id: 'conflicts',
      title: 'Conflicts by resolution',
      description:
        'Fields edited in two systems within the skew window, by the field policy and by which value was kept.',
      categories: report.conflicts.byResolution.map((c) => `${c.policy}: ${OUTCOME_LABEL[c.outcome]}`),
      categoryLabel: 'Policy and resolution',
      valueLabel: 'Conflicts',
      series: [{ name: 'conflicts', values: report.conflicts.byResolution.map((c) => c.count) }],
      emptyText: 'No conflicts in this period',
      horizontal: true,
    },
    {
      id: 'errors',
      title: 'Errors by system',
      description:
        'Records each system refused for good: parked now (fieldsync errors), and write failures during the period.',
      categories: report.errors.bySystem.map((e) => e.system),
      categoryLabel: 'System',
      valueLabel: 'Records',
      series: [
        { name: 'parked now', values: report.errors.bySystem.map((e) => e.parked) },
        { name: 'write failures in period', values: report.errors.bySystem.map((e) => e.writeFailures) },
      ],
      emptyText: 'No sync errors',
      horizontal: true,
    },
    {
      id: 'drift',
      title: 'Drift found by reconciliation',
      description: 'Fields a system held differently from the canonical state, found by the reconcile job.',
      categories: report.drift.bySystem.map((d) => d.system),
      categoryLabel: 'System',
      valueLabel: 'Fields',
      series: [{ name: 'drifting fields', values: report.drift.bySystem.map((d) => d.count) }],
      emptyText: 'No drift found in this period',
      horizontal: true,
    },
  ];
}

const STYLE = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #1a1a1a; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.15rem; margin: 1.8rem 0 0.5rem; }
.period { color: #444; margin-top: 0; }
dl.totals { display: grid; grid-template-columns: repeat(auto-fill, minmax(9rem, 1fr)); gap: 0.5rem; }
dl.totals div { border: 1px solid #ccc; border-radius: 4px; padding: 0.4rem 0.6rem; }
dl.totals dt { color: #444; font-size: 0.85rem; }
dl.totals dd { margin: 0; font-size: 1.3rem; font-weight: 600; }
figure.chart { margin: 0; }
svg { max-width: 100%; height: auto; font: 11px system-ui, sans-serif; }
svg .grid { stroke: #e3e3e3; }
svg .axis { stroke: #333; }
svg .tick, svg .category, svg .legend { fill: #333; }
svg .axis-label { fill: #1a1a1a; font-weight: 600; }
svg .empty { fill: #555; font-size: 14px; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.3rem; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: right; }
th[scope="row"], thead th:first-child, td.text { text-align: left; }
.none { color: #555; }
.notice { border-left: 4px solid #0072B2; padding: 0.3rem 0.8rem; background: #f3f8fc; }
`;

/** One self-contained page: no external resource of any kind. */
export function renderReportHtml(report: AuditReport): string {
  const t = report.totals;
  const totals: [string, number][] = [
    ['canonical records', t.canonical],
    ['record changes', t.changes],
    ['created', t.created],
    ['updated', t.updated],
    ['deleted', t.deleted],
    ['merges', t.merges],
    ['echoes suppressed', t.echoes],
    ['conflicts', t.conflicts],
    ['drift', t.drift],
    ['write failures', t.writeFailures],
    ['errors parked', t.errorsParked],
    ['ambiguous matches', t.ambiguous],
  ];
  const body: string[] = [];
  body.push(
    '<h1>fieldsync audit report</h1>',
    `<p class="period">From <time datetime="${esc(report.period.since)}">${esc(report.period.since)}</time> to <time datetime="${esc(report.period.until)}">${esc(report.period.until)}</time> (${report.period.hours} h), generated ${esc(report.generatedAt)}. Counts, ids and field names only: no field values.</p>`,
  );
  if (t.canonical === 0 && t.auditRows === 0 && t.errorsParked === 0)
    body.push(
      '<p class="notice">The state holds no records and no activity yet: run <code>fieldsync sync --once</code> first.</p>',
    );
  else if (t.auditRows === 0) body.push('<p class="notice">No sync activity in this period.</p>');
  body.push(
    '<section aria-labelledby="totals-h"><h2 id="totals-h">Totals</h2><dl class="totals">',
    ...totals.map(([label, n]) => `<div><dt>${esc(label)}</dt><dd>${n}</dd></div>`),
    '</dl></section>',
  );
  for (const chart of reportCharts(report)) body.push(barChart(chart));

  body.push(
    '<h2>Records per object</h2>',
    dataTable('Canonical records now, and live records linked in each system', ...recordsTable(report)),
    '<h2>Activity per object and system</h2>',
    dataTable(
      'What happened in the period, by the system it happened in',
      [
        'object / system',
        'changes',
        'field changes',
        'created',
        'updated',
        'deleted',
        'merges',
        'echoes',
        'conflicts',
        'drift',
        'write failures',
      ],
      report.activity.map((a) => [`${a.object} / ${a.system}`, ...activityCounts(a)]),
    ),
    '<h2>Conflicted fields</h2>',
    dataTable(
      `Fields with the most conflicts (top ${report.conflicts.topFields.length})`,
      ['object.field', 'policy', 'conflicts', 'later edit won', 'earlier value kept'],
      report.conflicts.topFields.map((f) => [
        `${f.object}.${f.field}`,
        f.policy,
        String(f.count),
        String(f.won),
        String(f.lost),
      ]),
    ),
    '<h2>Errors by vendor code</h2>',
    dataTable(
      'Parked sync errors by system, object and vendor code',
      ['system / object', 'code', 'records'],
      report.errors.byCode.map((e) => [`${e.system} / ${e.object}`, e.code, String(e.count)]),
    ),
    '<h2>Drift by field</h2>',
    dataTable(
      'Fields reconciliation found differing, by system and object',
      ['system / object.field', 'findings'],
      report.drift.byField.map((d) => [
        `${d.system} / ${driftFieldLabel(d.object, d.field)}`,
        String(d.count),
      ]),
    ),
    '<h2>Pollers</h2>',
    dataTable(
      'When each cursor last advanced',
      ['system / object', 'cursor updated'],
      report.cursors.map((c) => [`${c.system} / ${c.object}`, c.updatedAt ?? 'never']),
    ),
  );
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>fieldsync audit report ${esc(report.period.since.slice(0, 10))} to ${esc(report.period.until.slice(0, 10))}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<main>',
    ...body,
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
