import { findCurrency, formatMinor } from '../lib/money.ts';
import type { AmountsByCurrency, IncidentReport } from './report.ts';

// The post-incident report as Markdown, for pasting into a postmortem.

const iso = (seconds: number | null) =>
  seconds === null ? 'ongoing' : new Date(seconds * 1000).toISOString();

/** One table cell or line: no pipes or newlines from operator text break the layout. */
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');

function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}h ${m}m ${s}s` : m > 0 ? `${m}m ${s}s` : `${s}s`;
}

function money(totals: AmountsByCurrency): string {
  const parts = Object.entries(totals.amount).map(([code, minor]) => {
    const currency = findCurrency(code);
    return currency ? `${formatMinor(minor, currency)} ${code.toUpperCase()}` : `${minor} ${code}`;
  });
  return `${totals.count} payment${totals.count === 1 ? '' : 's'}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

function failedLines(report: IncidentReport): string[] {
  const codes = Object.entries(report.attempts_failed.by_code).sort((a, b) => b[1] - a[1]);
  return [
    `- Attempts failed: ${report.attempts_failed.count}`,
    ...codes.map(([code, n]) => `  - \`${cell(code)}\`: ${n}`),
  ];
}

function unknownLines(report: IncidentReport): string[] {
  if (report.unknown_outcomes.length === 0) return ['None.'];
  return [
    '| attempt | payment | unknown at | resolved at | resolution |',
    '| --- | --- | --- | --- | --- |',
    ...report.unknown_outcomes.map(
      (u) =>
        `| ${u.attempt} | ${u.payment_intent} | ${iso(u.unknown_at)} | ${u.resolved_at === null ? 'unresolved' : iso(u.resolved_at)} | ${cell(u.resolution ?? 'not yet resolved')}${u.reversed_by ? ` (reversed by ${u.reversed_by})` : ''} |`,
    ),
  ];
}

export function reportMarkdown(report: IncidentReport): string {
  const lost = report.payments_lost;
  const lines = [
    `# Post-incident report: ${cell(report.title)}`,
    '',
    `- Incident: ${report.incident} (${report.source}, ${report.impact}, ${report.status})`,
    `- Connector: ${report.connector ?? 'all connectors'}`,
    `- Started: ${iso(report.started)}`,
    `- Resolved: ${iso(report.resolved)}`,
    `- Duration: ${duration(report.duration_seconds)}${report.resolved === null ? ' so far' : ''}`,
    '',
    '## Impact on payments',
    '',
    ...failedLines(report),
    `- Payments rerouted to another processor: ${money(report.payments_rerouted)}`,
    `- Payments that fell back to a secondary method: ${money(report.payments_secondary_method)}`,
    `- Payments lost: ${lost.count}${lost.count === 0 ? ' (as it must be)' : ` — MUST BE ZERO: ${lost.ids.join(', ')}`}`,
    '',
    '## Unknown outcomes',
    '',
    ...unknownLines(report),
    '',
    '## Timeline',
    '',
    ...report.timeline.map(
      (u) => `- ${iso(u.created)} — **${u.kind}** (${u.status}): ${cell(u.message)}`,
    ),
  ];
  if (report.truncated.length > 0) {
    lines.push(
      '',
      `> Truncated: ${report.truncated.join(', ')} were computed from a bounded part of the data.`,
    );
  }
  return `${lines.join('\n')}\n`;
}
