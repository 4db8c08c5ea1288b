import type { AnyControl, ComplianceReport } from './report-schema.js'

/** HTML text escaping for element content and quoted attribute values (the five characters HTML gives meaning to). */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string)
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1b1f24;margin:2rem auto;max-width:68rem;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}.pass{color:#116329;font-weight:600}.fail{color:#a40e26;font-weight:600}
.meta{color:#57606a}code{font:12px ui-monospace,monospace;word-break:break-all}ul.findings li{margin:.2rem 0}
`

const status = (s: 'pass' | 'fail') => `<span class="${s}">${s === 'pass' ? 'PASS' : 'FAIL'}</span>`

function table(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  if (rows.length === 0) return '<p class="meta">none</p>'
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')
  const body = rows.map((r) => `<tr>${r.map((v) => `<td>${escapeHtml(v ?? '')}</td>`).join('')}</tr>`).join('\n')
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`
}

/** What each control looked at, as a table. */
function details(control: AnyControl): string {
  switch (control.id) {
    case 'admin-mfa':
      return table(['admin', 'MFA', 'created'], control.admins.map((a) => [a.username, a.mfa, a.createdAt]))
    case 'transport-tls':
      return table(['HTTPS', '--insecure-http'], [[control.tls ? 'yes' : 'no', control.insecureHttp ? 'yes' : 'no']])
    case 'audit-chain':
      return table(
        ['entries', 'chain', 'problem', 'head seq', 'head hash', 'head signature', 'signature valid'],
        [[control.entries, control.verified ? 'verified' : 'FAILED', control.problem === null ? '' : `${control.problem.kind} at entry ${control.problem.seq}: ${control.problem.message}`, control.head?.seq ?? 'none', control.head?.hash ?? '', control.head?.signature ?? '', control.headSignatureValid === null ? 'no head' : control.headSignatureValid ? 'yes' : 'NO']],
      )
    case 'key-age':
      return `<p class="meta">Maximum age: ${escapeHtml(control.maxAgeDays)} days</p>` + table(['kind', 'id', 'name', 'created', 'age (days)', 'dated by'], control.keys.map((k) => [k.kind, k.id, k.name, k.createdAt ?? 'unknown', k.ageDays ?? 'unknown', k.dated]))
    case 'device-software':
      return (
        `<p class="meta">${escapeHtml(control.devicesChecked)} devices checked; out of date after ${escapeHtml(control.outdatedAfterDays)} days` +
        (control.unmanagedComponents.length > 0 ? `; not checked (no release on the hub): ${escapeHtml(control.unmanagedComponents.join(', '))}` : '') +
        '</p>' +
        table(['device', 'name', 'component', 'version', 'problems', 'due version'], control.devices.map((d) => [d.deviceId, d.name, d.component, d.version, d.problems.join(', '), d.expectedVersion ?? '']))
      )
    case 'refused-config-keys':
      return table(['device', 'name', 'reported', 'refused keys'], control.devices.map((d) => [d.deviceId, d.name, d.reportedAt, d.refused.map((k) => `${k.key} (${k.reason})`).join('; ')]))
    case 'failed-logins':
      return (
        `<p class="meta">${escapeHtml(control.total)} failed authentications; a source fails the control above ${escapeHtml(control.maxPerSource)}</p>` +
        table(['source', 'count', 'kinds', 'first', 'last'], control.sources.map((s) => [s.source, s.count, Object.entries(s.kinds).map(([k, n]) => `${k} ${n}`).join(', '), s.firstAt, s.lastAt]))
      )
  }
}

function section(control: AnyControl): string {
  const findings = control.findings.length === 0 ? '' : `<ul class="findings">${control.findings.map((f) => `<li><strong>${escapeHtml(f.severity)}</strong> <code>${escapeHtml(f.subject)}</code>: ${escapeHtml(f.message)}</li>`).join('\n')}</ul>`
  return `<section id="${escapeHtml(control.id)}">\n<h2>${escapeHtml(control.title)}: ${status(control.status)}</h2>\n<p>${escapeHtml(control.summary)}</p>\n${findings}\n${details(control)}\n</section>`
}

/**
 * The report as one self-contained HTML page: inline CSS, no script, no
 * external resource, every value escaped; a summary (pass/fail per control)
 * first, then each control's findings and details. Readable from a file,
 * without the console.
 */
export function renderHtmlReport(report: ComplianceReport): string {
  const controls = Object.values(report.controls)
  const summary = `<table><thead><tr><th>control</th><th>status</th><th>findings</th><th>summary</th></tr></thead><tbody>\n${controls
    .map((c) => `<tr><td><a href="#${escapeHtml(c.id)}">${escapeHtml(c.title)}</a></td><td>${status(c.status)}</td><td>${escapeHtml(c.findings.length)}</td><td>${escapeHtml(c.summary)}</td></tr>`)
    .join('\n')}\n</tbody></table>`
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>CloudOS Lite compliance report: ${escapeHtml(report.hubId)} ${escapeHtml(report.generatedAt)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Compliance report: ${status(report.status)}</h1>
<p class="meta">Hub <code>${escapeHtml(report.hubId)}</code>, generated ${escapeHtml(report.generatedAt)}; failed logins counted from ${escapeHtml(report.period.since)} to ${escapeHtml(report.period.until)}. Report format ${escapeHtml(report.formatVersion)} (docs/hub.md, Compliance).</p>
<h2>Summary</h2>
${summary}
${controls.map(section).join('\n')}
</body>
</html>
`
}
