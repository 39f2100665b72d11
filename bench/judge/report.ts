import type { FamilySummary, JudgeSummary } from './run';

/** The printed tables and the `--json` line of the benchmark. */

const pad = (v: string | number | null, width: number) => String(v ?? '-').padStart(width);
const padEnd = (v: string, width: number) => v.padEnd(width);

/** The severity of a regression family named like `err-2x` or `lat-1.5x`; null for other families. */
export function severityOf(family: string): number | null {
  const match = /^(?:err|lat)-(\d+(?:\.\d+)?)x$/.exec(family);
  return match ? Number(match[1]) : null;
}

/** Regressions of families at or above `factor` × the SLO that were not rolled back (promoted or held). */
export function missedAtLeast(summary: JudgeSummary, factor: number): number {
  return summary.families.filter((f) => (severityOf(f.family) ?? 0) >= factor).reduce((s, f) => s + f.scenarios - f.rolledBack, 0);
}

/** Regressions of families at or above `factor` × the SLO that were promoted. */
export function promotedAtLeast(summary: JudgeSummary, factor: number): number {
  return summary.families.filter((f) => (severityOf(f.family) ?? 0) >= factor).reduce((s, f) => s + f.promoted, 0);
}

function familyRow(f: FamilySummary): string {
  const missed = f.expect === 'rollback' ? f.scenarios - f.rolledBack : null;
  return [
    padEnd(f.family, 16),
    padEnd(f.expect, 9),
    pad(f.scenarios, 4),
    pad(f.promoted, 8),
    pad(f.rolledBack, 9),
    pad(f.held, 5),
    pad(missed, 7),
    pad(f.early, 6),
    pad(f.medianDetectionIntervals, 7),
    pad(f.p90DetectionIntervals, 5),
  ].join(' ');
}

/** One judge's table: totals, then a row per family (severity). */
export function judgeTable(s: JudgeSummary): string {
  const header = [
    padEnd('family', 16),
    padEnd('expect', 9),
    pad('n', 4),
    pad('promoted', 8),
    pad('rollback', 9),
    pad('held', 5),
    pad('missed', 7),
    pad('early', 6),
    pad('median', 7),
    pad('p90', 5),
  ].join(' ');
  return [
    `== ${s.judge}: ${s.description}`,
    `healthy ${s.healthy}: false rollbacks ${s.falseRollbacks}, held (not promoted) ${s.healthyHeld}` +
      (s.judge === 'ours' ? `, promoted with the canary proven healthy ${s.provenHealthy}` : ''),
    `regressions ${s.regressions}: missed ${s.missed} (promoted ${s.missedPromoted}, held ${s.missedHeld}), missed at ≥ 2× SLO ${missedAtLeast(s, 2)} (promoted ${promotedAtLeast(s, 2)}), rolled back before the fault ${s.early}`,
    `held for power at the end (the data could not yet detect the regression size; counted in held): ${s.heldForPower}`,
    `healthy runs promoted after median ${s.medianPromotionIntervals ?? '-'}, p90 ${s.p90PromotionIntervals ?? '-'} intervals; runs that went on past the plan: ${s.continued}`,
    `detection, intervals from faultFromInterval (1 = at the first bad interval): median ${s.medianDetectionIntervals ?? '-'}, p90 ${s.p90DetectionIntervals ?? '-'}; no-data holds ${s.noDataHolds}`,
    header,
    ...s.families.map(familyRow),
  ].join('\n');
}

/** All judges side by side. */
export function comparisonTable(summaries: readonly JudgeSummary[]): string {
  const header = [
    padEnd('judge', 14),
    pad('false rollbacks', 15),
    pad('healthy held', 12),
    pad('missed', 7),
    pad('of which held', 13),
    pad('missed ≥2×', 10),
    pad('promoted ≥2×', 12),
    pad('median', 7),
    pad('p90', 5),
    pad('no-data holds', 13),
    pad('promote p90', 11),
  ].join(' ');
  const rows = summaries.map((s) =>
    [
      padEnd(s.judge, 14),
      pad(`${s.falseRollbacks}/${s.healthy}`, 15),
      pad(s.healthyHeld, 12),
      pad(`${s.missed}/${s.regressions}`, 7),
      pad(s.missedHeld, 13),
      pad(missedAtLeast(s, 2), 10),
      pad(promotedAtLeast(s, 2), 12),
      pad(s.medianDetectionIntervals, 7),
      pad(s.p90DetectionIntervals, 5),
      pad(s.noDataHolds, 13),
      pad(s.p90PromotionIntervals, 11),
    ].join(' '),
  );
  return [header, ...rows].join('\n');
}

export interface TargetCheck {
  readonly target: string;
  readonly met: boolean;
  readonly detail: string;
}

/** The issue's targets for `ours`, measured. */
export function targetChecks(summaries: readonly JudgeSummary[], ours = 'ours'): TargetCheck[] {
  const o = summaries.find((s) => s.judge === ours);
  if (!o) return [];
  const anchors = summaries.filter((s) => s.judge !== ours && s.falseRollbacks <= o.falseRollbacks && s.medianDetectionIntervals !== null);
  const best = anchors.reduce<JudgeSummary | undefined>((b, s) => (b === undefined || s.medianDetectionIntervals! < b.medianDetectionIntervals! ? s : b), undefined);
  const fewer = (anchor: JudgeSummary) =>
    o.medianDetectionIntervals === null ? 'n/a' : `${Math.round((1 - o.medianDetectionIntervals / anchor.medianDetectionIntervals!) * 100)}% fewer`;
  const others = summaries.filter((s) => s.judge !== ours && s.medianDetectionIntervals !== null);
  const closest = others.reduce<JudgeSummary | undefined>((b, s) => (b === undefined || s.falseRollbacks < b.falseRollbacks ? s : b), undefined);
  const missedStrong = o.missedScenarios.filter((name) => (severityOf(name.split('/')[0]) ?? 0) >= 2);
  const byTraffic = [...new Set(missedStrong.map((n) => n.split('/')[1] ?? '?'))].map((t) => `${missedStrong.filter((n) => n.split('/')[1] === t).length} at ${t} traffic`);
  const speed: TargetCheck =
    best === undefined
      ? {
          target: 'median detection ≥ 30% fewer intervals than the best anchor with no more false rollbacks',
          met: true,
          detail:
            `no anchor has ≤ ${o.falseRollbacks} false rollbacks (met vacuously)` +
            (closest === undefined ? '' : `; the anchor with the fewest, ${closest.judge} (${closest.falseRollbacks}), has median ${closest.medianDetectionIntervals}: ours ${o.medianDetectionIntervals}, ${fewer(closest)}`),
        }
      : {
          target: 'median detection ≥ 30% fewer intervals than the best anchor with no more false rollbacks',
          met: o.medianDetectionIntervals !== null && o.medianDetectionIntervals <= 0.7 * best.medianDetectionIntervals!,
          detail: `ours ${o.medianDetectionIntervals} vs ${best.judge} ${best.medianDetectionIntervals} (${best.falseRollbacks} false rollbacks): ${fewer(best)}`,
        };
  return [
    { target: '0 false rollbacks', met: o.falseRollbacks === 0, detail: `${o.falseRollbacks} of ${o.healthy} healthy runs rolled back` },
    {
      target: '0 missed regressions at ≥ 2× the SLO (missed: not rolled back by the end, promoted or held)',
      met: missedAtLeast(o, 2) === 0,
      detail:
        `${missedAtLeast(o, 2)} missed, ${promotedAtLeast(o, 2)} of them promoted` +
        `${byTraffic.length > 0 ? ` (${byTraffic.join(', ')}): ${missedStrong.join(', ')}` : ''}`,
    },
    {
      target: '0 regressions at ≥ 2× the SLO promoted',
      met: promotedAtLeast(o, 2) === 0,
      detail: `${promotedAtLeast(o, 2)} promoted; ${missedAtLeast(o, 2) - promotedAtLeast(o, 2)} ended held (not promoted, not yet rolled back)`,
    },
    speed,
  ];
}

/** The `--json` line, exactly the issue's shape. */
export function jsonLine(summaries: readonly JudgeSummary[]): string {
  const judges: Record<string, Record<string, number | null>> = {};
  for (const s of summaries) {
    judges[s.judge] = {
      healthy: s.healthy,
      falseRollbacks: s.falseRollbacks,
      regressions: s.regressions,
      missed: s.missed,
      medianDetectionIntervals: s.medianDetectionIntervals,
      p90DetectionIntervals: s.p90DetectionIntervals,
      noDataHolds: s.noDataHolds,
    };
  }
  return JSON.stringify({ judges });
}
