import { LIMITS } from '../lib/limits.ts';
import type { ComponentStatus, StatusIncident, StatusPage } from './status.ts';

// The status page as server-rendered HTML: no script, one small inline
// stylesheet, refreshed by the browser every LIMITS.statusPageRefreshSeconds.
// Every piece of text passes through `esc`.

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const STATUS_WORDS: Record<ComponentStatus, string> = {
  operational: 'Operational',
  degraded: 'Degraded',
  outage: 'Outage',
};

const OVERALL_WORDS: Record<ComponentStatus, string> = {
  operational: 'All payment methods are operational',
  degraded: 'Some payments are affected',
  outage: 'Payments are disrupted',
};

const IMPACT_WORDS: Record<string, string> = {
  degraded_performance: 'Degraded performance',
  partial_outage: 'Partial outage',
  major_outage: 'Major outage',
};

const STYLE = `
body{font:15px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1a1f36}
main{max-width:760px;margin:0 auto;padding:24px 16px}
h1{font-size:22px;margin:0 0 16px}h2{font-size:17px;margin:28px 0 8px}
.banner{padding:14px 18px;border-radius:8px;color:#fff;font-weight:600}
.operational{background:#1e8e3e}.degraded{background:#e37400}.outage{background:#c5221f}
ul{list-style:none;padding:0;margin:0}
li.row{display:flex;justify-content:space-between;background:#fff;padding:10px 14px;border-bottom:1px solid #e3e8ee}
.pill{font-size:13px;font-weight:600}.pill.operational{color:#1e8e3e;background:none}
.pill.degraded{color:#e37400;background:none}.pill.outage{color:#c5221f;background:none}
article{background:#fff;border-radius:8px;padding:12px 16px;margin-bottom:12px}
article h3{margin:0 0 4px;font-size:16px}.meta{color:#5b6270;font-size:13px}
.update{margin-top:8px}.update b{text-transform:capitalize}
footer{color:#5b6270;font-size:12px;margin-top:32px}`;

const time = (seconds: number) => {
  const iso = new Date(seconds * 1000).toISOString();
  return `<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')} UTC</time>`;
};

function incidentHtml(incident: StatusIncident): string {
  const updates = incident.updates
    .map(
      (u) =>
        `<div class="update"><b>${esc(u.status)}</b> — ${esc(u.message)} <span class="meta">${time(u.created)}</span></div>`,
    )
    .join('');
  const when =
    incident.resolved === null
      ? `Since ${time(incident.started)}`
      : `${time(incident.started)} to ${time(incident.resolved)}`;
  return `<article id="${esc(incident.id)}"><h3>${esc(incident.title)}</h3><div class="meta">${esc(IMPACT_WORDS[incident.impact] ?? incident.impact)} · ${when}</div>${updates}</article>`;
}

function section(title: string, body: string, empty: string): string {
  return `<section><h2>${esc(title)}</h2>${body || `<p class="meta">${esc(empty)}</p>`}</section>`;
}

export function statusPageHtml(page: StatusPage): string {
  const methods = page.payment_methods
    .map(
      (m) =>
        `<li class="row"><span>${esc(m.name)}</span><span class="pill ${m.status}">${STATUS_WORDS[m.status]}</span></li>`,
    )
    .join('');
  const maintenance = page.maintenance
    .map(
      (m) =>
        `<article><h3>${m.in_progress ? 'In progress' : 'Scheduled'}: maintenance of ${esc(m.processor)}</h3><div class="meta">${time(m.starts_at)} to ${time(m.ends_at)}</div>${m.note ? `<div class="update">${esc(m.note)}</div>` : ''}</article>`,
    )
    .join('');
  const mode = page.livemode ? '' : ' (test mode)';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="refresh" content="${LIMITS.statusPageRefreshSeconds}">
<title>${esc(page.account.name)} payment status${mode}</title>
<style>${STYLE}</style></head>
<body><main>
<h1>${esc(page.account.name)} — payment status${mode}</h1>
<div class="banner ${page.status}" id="overall">${OVERALL_WORDS[page.status]}</div>
${section('Payment methods', methods ? `<ul>${methods}</ul>` : '', 'No payment methods are configured.')}
${section('Ongoing incidents', page.incidents.map(incidentHtml).join(''), 'No ongoing incidents.')}
${section('Scheduled maintenance', maintenance, 'No maintenance scheduled.')}
${section(`Resolved in the last ${LIMITS.statusPageResolvedDays} days`, page.recently_resolved.map(incidentHtml).join(''), 'No incidents in this period.')}
<footer>Updated ${time(page.generated)}; this page refreshes every ${LIMITS.statusPageRefreshSeconds} seconds.</footer>
</main></body></html>
`;
}

export function notFoundHtml(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Status page not found</title>
<style>${STYLE}</style></head>
<body><main><h1>Status page not found</h1><p>There is no status page at this address.</p></main></body></html>
`;
}
