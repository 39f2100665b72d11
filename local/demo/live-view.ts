import type { Cursor } from '../../lambdas/domain/decision';
import { formatNumber } from '../../lambdas/domain/judge';
import type { Plan } from '../../lambdas/domain/plan';
import type { RunEvent } from '../../lambdas/domain/run';
import type { RunLog } from '../../lambdas/ports/run-log';
import type { DemoStage } from './environment';
import { describePhase, type Profile } from './profile';
import { formatMeasurement, formatThreshold, formatValue, verdictWord } from './report';

/**
 * The terminal view of a run. Lines that tell what happened (a weight set, an analysis with every check's
 * value against its threshold and the decision, a rollback) are appended as they happen. On a TTY a status
 * block (stage, weights as the stand-in routes them, the latest checks, the decision) stays below them and
 * is redrawn in place; when stdout is not a TTY only the appended lines are written.
 */

/** Where the view writes. */
export interface Terminal {
  write(text: string): void;
  readonly isTTY: boolean;
  /** Width in characters; lines of the status block are cut to it. */
  columns(): number;
}

/** A terminal over a process stream (stdout by default). */
export function streamTerminal(stream: NodeJS.WriteStream = process.stdout): Terminal {
  return {
    write: (text) => void stream.write(text),
    isTTY: stream.isTTY === true,
    columns: () => stream.columns ?? 100,
  };
}

/** A terminal that keeps what is written, for tests and quiet runs. */
export function memoryTerminal(isTTY = false, width = 120): Terminal & { text(): string } {
  let text = '';
  return { write: (t) => void (text += t), isTTY, columns: () => width, text: () => text };
}

const ESC = '\u001b[';

/** Appended lines, and on a TTY a status block below them redrawn in place. */
export class LiveView {
  private drawn = 0;
  private source: (() => string[]) | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly term: Terminal,
    private readonly redrawMs = 250,
  ) {}

  /** Whether a status block is drawn (stdout is a TTY). */
  get live(): boolean {
    return this.term.isTTY;
  }

  /** Appends a line above the status block. */
  line(text = ''): void {
    if (!this.term.isTTY) {
      this.term.write(`${text}\n`);
      return;
    }
    this.term.write(`${this.erase()}${text}\n${this.draw()}`);
  }

  /** Shows a status block, redrawn every redrawMs (TTY only). */
  showStatus(source: () => string[]): void {
    if (!this.term.isTTY) return;
    this.source = source;
    this.term.write(this.draw());
    this.timer = setInterval(() => this.redraw(), this.redrawMs);
    this.timer.unref();
  }

  /** Redraws the status block now. */
  redraw(): void {
    if (this.term.isTTY && this.source) this.term.write(`${this.erase()}${this.draw()}`);
  }

  /** Removes the status block. */
  hideStatus(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.term.isTTY) this.term.write(this.erase());
    this.source = undefined;
  }

  private erase(): string {
    if (this.drawn === 0) return '';
    const text = `${ESC}${this.drawn}F${ESC}0J`;
    this.drawn = 0;
    return text;
  }

  private draw(): string {
    if (!this.source) return '';
    const width = Math.max(20, this.term.columns() - 1);
    const lines = this.source().map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l));
    this.drawn = lines.length;
    return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
  }
}

/** Seconds since `since`, as `[+ 12.3s]`. */
export function stamp(since: number, at = Date.now()): string {
  return `[+${((at - since) / 1000).toFixed(1).padStart(5)}s]`;
}

const INDENT = ' '.repeat(10);

export interface WatchOptions {
  readonly view: LiveView;
  readonly stage: DemoStage;
  readonly runLog: RunLog;
  readonly runId: string;
  readonly plan: Plan;
  /** The canary's profile in this run, to tell its phases as they begin. */
  readonly canaryProfile: Profile;
  readonly startedAt: number;
  readonly pollMs?: number;
}

interface RoutedSample {
  readonly at: number;
  readonly stable: number;
  readonly canary: number;
}

/** Follows one run: the run log's events, the workflow's states, the stand-in's routing, the canary's phases. */
export class RunWatcher {
  private state = 'Start';
  private cursor: Partial<Cursor> | undefined;
  private lastSeq = -1;
  private lastAnalysis: RunEvent | undefined;
  private readonly routed: RoutedSample[] = [];
  private canaryFirst: number | null = null;
  private canaryPhase: number | null = null;
  private timer: NodeJS.Timeout | undefined;
  private sampler: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private polls = 0;

  constructor(private readonly o: WatchOptions) {}

  /** For runLocalWorkflow's onStateEntered. */
  readonly onStateEntered = (state: string, input: unknown): void => {
    this.state = state;
    const cursor = (input as { cursor?: Partial<Cursor> } | undefined)?.cursor;
    if (cursor !== undefined) this.cursor = cursor;
  };

  /** Starts following; the status block shows on a TTY. */
  start(): void {
    this.sampleRouting();
    this.o.view.showStatus(() => this.status());
    this.timer = setInterval(() => void this.poll(), this.o.pollMs ?? 500);
    this.sampler = setInterval(() => this.sampleRouting(), 250);
  }

  /** Reads what is left to read, then stops following. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.sampler) clearInterval(this.sampler);
    this.timer = undefined;
    await this.polling;
    await this.pollOnce();
    this.o.view.hideStatus();
  }

  /** The canary's share of the requests the stand-in routed in the `seconds` before `at` (default now), percent, with the request count. */
  observedShare(seconds: number, at = Date.now()): { share: number | null; requests: number } {
    const upTo = this.routed.filter((s) => s.at <= at);
    const last = upTo.at(-1);
    const from = [...upTo].reverse().find((s) => last !== undefined && last.at - s.at >= seconds * 1000) ?? upTo[0];
    if (last === undefined || from === undefined) return { share: null, requests: 0 };
    const canary = last.canary - from.canary;
    const total = canary + (last.stable - from.stable);
    return { share: total === 0 ? null : (100 * canary) / total, requests: total };
  }

  private poll(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => (this.polling = undefined));
    return this.polling;
  }

  private sampleRouting(): void {
    const { stable, canary } = this.o.stage.routed();
    this.routed.push({ at: Date.now(), stable, canary });
    const horizon = Date.now() - 60_000;
    while (this.routed.length > 2 && this.routed[0].at < horizon) this.routed.shift();
  }

  private async pollOnce(): Promise<void> {
    this.polls++;
    try {
      const events = await this.o.runLog.listEvents(this.o.runId);
      for (const event of events) {
        if (event.seq <= this.lastSeq) continue;
        this.lastSeq = event.seq;
        this.describe(event);
      }
      if (this.polls % 2 === 0 || this.timer === undefined) await this.followCanary();
    } catch (error) {
      this.o.view.line(`${stamp(this.o.startedAt)} (live view could not read: ${error instanceof Error ? error.message : String(error)})`);
    }
  }

  private async followCanary(): Promise<void> {
    const state = await this.o.stage.canary.state();
    const profile = this.o.canaryProfile;
    if (this.canaryFirst === null && state.firstRequestAt !== null) {
      this.canaryFirst = state.firstRequestAt;
      const later = profile.phases.slice(1).map((p) => `from +${p.fromSecond} s ${describePhase(p)}`);
      const memory = profile.memoryMb.growthPerMinute > 0 ? `; memory grows ${profile.memoryMb.growthPerMinute} MB a minute` : '';
      this.o.view.line(
        `${stamp(this.o.startedAt, state.firstRequestAt)} canary got its first request: ${describePhase(profile.phases[0])}${later.length > 0 ? `; ${later.join('; ')}` : ''}${memory}`,
      );
    }
    if (state.phaseIndex !== null && state.phaseIndex !== this.canaryPhase) {
      const previous = this.canaryPhase;
      this.canaryPhase = state.phaseIndex;
      const phase = profile.phases[state.phaseIndex];
      if (previous !== null && phase !== undefined && this.canaryFirst !== null) {
        const at = this.canaryFirst + phase.fromSecond * 1000;
        this.o.view.line(`${stamp(this.o.startedAt, at)} canary phase ${state.phaseIndex + 1} begins (+${phase.fromSecond} s after its first request): ${describePhase(phase)}`);
      }
    }
  }

  private describe(event: RunEvent): void {
    const at = Date.parse(event.at);
    const t = stamp(this.o.startedAt, Number.isNaN(at) ? Date.now() : at);
    const view = this.o.view;
    switch (event.type) {
      case 'started':
        view.line(`${t} ${event.message ?? 'run started'}`);
        return;
      case 'weight-set': {
        const w = this.o.stage.weights();
        view.line(`${t} step ${event.stepIndex ?? '?'}: canary weight → ${formatNumber(event.weight ?? 0)}% (the stand-in routes stable ${w.raw.stable} / canary ${w.raw.canary} of 1000)`);
        return;
      }
      case 'analysis': {
        this.lastAnalysis = event;
        const share = this.observedShare(this.o.plan.analysis.intervalSeconds, Number.isNaN(at) ? Date.now() : at);
        const routed = share.share === null ? 'no requests routed' : `the stand-in routed ${formatNumber(Number(share.share.toFixed(1)))}% of ${share.requests} requests to the canary in the last ${this.o.plan.analysis.intervalSeconds} s`;
        view.line(`${t} analysis at step ${event.stepIndex ?? '?'} (${formatNumber(event.weight ?? 0)}%): ${routed}`);
        view.line(`${INDENT}${(event.measurements ?? []).map(formatMeasurement).join(' · ')}`);
        const decision = event.decision;
        if (decision) view.line(`${INDENT}→ ${decision.action}: ${decision.reason.message}`);
        return;
      }
      case 'rollback-started':
        view.line(`${t} ROLLBACK: ${event.message ?? ''}`);
        return;
      case 'rolled-back':
        view.line(`${t} all traffic is back on stable`);
        return;
      case 'rollback-step':
      case 'promoted':
      case 'rollback-failed':
      case 'task-failed':
      case 'finished':
        view.line(`${t} ${event.message ?? event.type}`);
        return;
    }
  }

  /** The status block. */
  private status(): string[] {
    const plan = this.o.plan;
    const cursor = this.cursor;
    const w = this.o.stage.weights();
    const share = this.observedShare(plan.analysis.intervalSeconds);
    const load = this.o.stage.load.stats();
    const step = cursor?.stepIndex ?? 0;
    const planLine = plan.steps.map((st, i) => (i === step ? `[${formatNumber(st.weight)}%]` : `${formatNumber(st.weight)}%`)).join(' → ');
    const errors = Object.entries(load.byStatus)
      .filter(([status]) => status.startsWith('5'))
      .reduce((n, [, count]) => n + count, 0);
    const lines = [
      `── ${this.o.stage.service} · run ${this.o.runId} · ${((Date.now() - this.o.startedAt) / 1000).toFixed(1)} s · state ${this.state} ${'─'.repeat(10)}`,
      `  stage     step ${step}: ${planLine}`,
      `  routing   stand-in weights stable ${w.raw.stable} / canary ${w.raw.canary} (canary ${formatNumber(w.canary)}%) · observed canary share ${share.share === null ? '–' : `${share.share.toFixed(1)}%`} of ${share.requests} requests in ${plan.analysis.intervalSeconds} s`,
      `  load      ${load.sent} requests sent · ${load.completed} answered · ${errors} answered 5xx · ${load.inFlight} in flight`,
    ];
    const measurements = this.lastAnalysis?.measurements ?? [];
    if (measurements.length === 0) lines.push('  checks    (no analysis yet)');
    measurements.forEach((m, i) => {
      const samples = m.samples === null ? '' : m.check.startsWith('memory-') ? `${formatNumber(m.samples)} series` : `${Math.round(m.samples)} requests`;
      lines.push(`  ${i === 0 ? 'checks  ' : '        '}  ${m.check.padEnd(14)}${formatValue(m.check, m.value, m.judge).padStart(9)}  ${formatThreshold(m.check, m.min, m.max, m.judge).padEnd(10)} ${verdictWord(m).padEnd(8)} ${samples}`);
    });
    const decision = this.lastAnalysis?.decision;
    lines.push(`  decision  ${decision ? `${decision.action}: ${decision.reason.message}` : '–'}`);
    return lines;
  }
}
