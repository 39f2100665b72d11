import type { CaseResult, ScoredCase } from './matrix';

/** The matrix's outputs: one line per case, a summary table, the README's "What happens when…" table, the JSON line. */

const weight = (value: number) => (Number.isNaN(value) ? '?' : `${Math.round(value * 10) / 10}%`);

/** One human line: verdict, name, what traffic and the records say, and why it failed. */
export function caseLine(scored: ScoredCase): string {
  const { result } = scored;
  const stable = result.secondsToStable === null ? 'no split to undo' : `stable in ${result.secondsToStable} s`;
  const parts = [`${result.ok ? 'ok  ' : 'FAIL'} ${result.name}: outcome ${result.outcome}, canary ends ${weight(result.finalCanaryWeight)}, ${stable}, ${result.recordsLost} records lost (${scored.wallSeconds} s)`];
  if (scored.lost.length > 0) parts.push(`missing: ${scored.lost.join('; ')}`);
  if (scored.problems.length > 0) parts.push(`problems: ${scored.problems.join('; ')}`);
  if (scored.notes.length > 0) parts.push(`notes: ${scored.notes.join('; ')}`);
  return parts.join(' — ');
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The summary table printed without --json. */
export function summaryTable(scored: readonly ScoredCase[]): string {
  const rows = scored.map(({ result }) => [
    result.ok ? 'ok' : 'FAIL',
    result.name,
    result.outcome,
    weight(result.finalCanaryWeight),
    result.secondsToStable === null ? '-' : `${result.secondsToStable} s`,
    String(result.recordsLost),
  ]);
  const passed = scored.filter((s) => s.result.ok).length;
  return `${table(['', 'case', 'outcome', 'canary at end', 'to stable', 'records lost'], rows)}\n\n${passed} passed, ${scored.length - passed} failed`;
}

const cell = (text: string) => text.replace(/\|/g, '\\|');

/** Where traffic ended, in the words a reader wants: on stable (and how fast), or on the new version because it promoted. */
function trafficText(result: ScoredCase['result']): string {
  if (result.finalCanaryWeight === 0) return `100% on stable${result.secondsToStable === null ? '' : `, ${result.secondsToStable} s after the fault`}`;
  if (result.finalCanaryWeight === 100 && result.outcome.startsWith('promoted')) return '100% on the new version (promoted)';
  return `${weight(result.finalCanaryWeight)} on the canary`;
}

/** "What happens when…": fault | what the orchestrator does | traffic ends | records, from this run's results. */
export function markdownTable(scored: readonly ScoredCase[]): string {
  const rows = scored.map((s) => {
    const { result } = s;
    const traffic = trafficText(result);
    const records = result.recordsLost === 0 ? `outcome \`${result.outcome}\`, none lost` : `outcome \`${result.outcome}\`, ${result.recordsLost} lost`;
    return `| ${cell(s.fault)} | ${cell(s.expected)}${result.ok ? '' : ' — **not met in this run**'} | ${cell(traffic)} | ${cell(records)} |`;
  });
  return ['### What happens when…', '', '| fault | what the orchestrator does | traffic ends | records |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/** The last line of --json: one object. */
export function jsonSummary(scored: readonly ScoredCase[]): string {
  const cases: CaseResult[] = scored.map(({ result }) => ({
    name: result.name,
    finalCanaryWeight: Number.isNaN(result.finalCanaryWeight) ? -1 : result.finalCanaryWeight,
    outcome: result.outcome,
    recordsLost: result.recordsLost,
    secondsToStable: result.secondsToStable,
    ok: result.ok,
  }));
  const passed = cases.filter((c) => c.ok).length;
  return JSON.stringify({ cases, passed, failed: cases.length - passed });
}
