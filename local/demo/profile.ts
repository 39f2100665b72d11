import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { parseOrThrow } from '../../lambdas/domain/validation';

/**
 * How a demo service behaves over time, as a profile file says:
 *
 *   { "phases": [
 *       { "fromSecond": 0,  "errorRate": 0.001, "latencyMs": { "p50": 20, "p99": 120 } },
 *       { "fromSecond": 15, "fault": true, "errorRate": 0.06, "latencyMs": { "p50": 30, "p99": 300 } } ],
 *     "memoryMb": { "start": 120, "growthPerMinute": 0 },
 *     "versionLabel": "canary" }
 *
 * `fromSecond` counts from the first request the version receives; `fault: true` marks the fault onset used
 * for timing; `versionLabel` overrides the version label the service reports. A later phase may leave out
 * `errorRate` or `latencyMs` to keep the previous phase's.
 */

const latencySchema = z
  .strictObject({
    p50: z.number().positive({ message: 'must be greater than 0' }),
    p99: z.number().positive({ message: 'must be greater than 0' }),
  })
  .refine((l) => l.p99 >= l.p50, { message: 'p99 must not be less than p50', path: ['p99'] });

const phaseSchema = z.strictObject({
  fromSecond: z.number().min(0, { message: 'must be at least 0' }),
  fault: z.boolean().optional(),
  errorRate: z.number().min(0, { message: 'must be between 0 and 1' }).max(1, { message: 'must be between 0 and 1' }).optional(),
  latencyMs: latencySchema.optional(),
});

export const profileSchema = z
  .strictObject({
    phases: z.array(phaseSchema).min(1, { message: 'must have at least one phase' }),
    memoryMb: z
      .strictObject({
        start: z.number().min(0, { message: 'must be at least 0' }),
        growthPerMinute: z.number().min(0, { message: 'must be at least 0' }),
      })
      .optional(),
    versionLabel: z
      .string()
      .min(1, { message: 'must not be empty' })
      .optional(),
  })
  .superRefine((profile, ctx) => {
    const first = profile.phases[0];
    if (first && first.fromSecond !== 0) ctx.addIssue({ code: 'custom', path: ['phases', 0, 'fromSecond'], message: 'must be 0 (the first phase starts with the first request)' });
    if (first && first.errorRate === undefined) ctx.addIssue({ code: 'custom', path: ['phases', 0, 'errorRate'], message: 'required in the first phase' });
    if (first && first.latencyMs === undefined) ctx.addIssue({ code: 'custom', path: ['phases', 0, 'latencyMs'], message: 'required in the first phase' });
    profile.phases.forEach((phase, i) => {
      const previous = profile.phases[i - 1];
      if (previous && phase.fromSecond <= previous.fromSecond) {
        ctx.addIssue({ code: 'custom', path: ['phases', i, 'fromSecond'], message: `must be greater than the previous phase's (${previous.fromSecond})` });
      }
    });
  });

/** A profile as written in its file. */
export type ProfileFile = z.input<typeof profileSchema>;

/** One phase with every field filled (inherited from the phase before when left out). */
export interface Phase {
  readonly fromSecond: number;
  readonly fault: boolean;
  readonly errorRate: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number };
}

/** A validated profile, phases filled in. */
export interface Profile {
  readonly phases: readonly Phase[];
  readonly memoryMb: { readonly start: number; readonly growthPerMinute: number };
  readonly versionLabel?: string;
}

/** Validates a profile (as parsed JSON), naming every bad field, and fills inherited phase fields. */
export function parseProfile(value: unknown, root = 'profile'): Profile {
  const parsed = parseOrThrow(profileSchema, value, root, 'profile');
  const phases: Phase[] = [];
  for (const phase of parsed.phases) {
    const previous = phases.at(-1);
    phases.push({
      fromSecond: phase.fromSecond,
      fault: phase.fault ?? false,
      // The schema requires both in the first phase, so `previous` is there whenever one is missing.
      errorRate: phase.errorRate ?? previous!.errorRate,
      latencyMs: phase.latencyMs ?? previous!.latencyMs,
    });
  }
  return {
    phases,
    memoryMb: parsed.memoryMb ?? { start: 0, growthPerMinute: 0 },
    ...(parsed.versionLabel !== undefined && { versionLabel: parsed.versionLabel }),
  };
}

/** Reads and validates a profile file; errors name the file. */
export async function loadProfile(file: string): Promise<Profile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read profile ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`profile ${file} is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    return parseProfile(json);
  } catch (error) {
    throw new Error(`profile ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The phase in force `seconds` after the first request. */
export function phaseAt(profile: Profile, seconds: number): { readonly index: number; readonly phase: Phase } {
  let index = 0;
  profile.phases.forEach((phase, i) => {
    if (phase.fromSecond <= seconds) index = i;
  });
  return { index, phase: profile.phases[index] };
}

/** The first phase marked `fault: true`, if any. */
export function faultPhase(profile: Profile): Phase | undefined {
  return profile.phases.find((phase) => phase.fault);
}

/** The profile as a file would hold it (for handing to a service process). */
export function profileToJson(profile: Profile): ProfileFile {
  return {
    phases: profile.phases.map((p) => ({ fromSecond: p.fromSecond, ...(p.fault && { fault: true }), errorRate: p.errorRate, latencyMs: { ...p.latencyMs } })),
    memoryMb: { ...profile.memoryMb },
    ...(profile.versionLabel !== undefined && { versionLabel: profile.versionLabel }),
  };
}

/** One line saying what a phase does, e.g. `errors 6%, latency p50 30 ms / p99 300 ms (fault)`. */
export function describePhase(phase: Phase): string {
  const errors = `${Number((phase.errorRate * 100).toPrecision(3))}% errors`;
  return `${errors}, latency p50 ${phase.latencyMs.p50} ms / p99 ${phase.latencyMs.p99} ms${phase.fault ? ' (fault)' : ''}`;
}
