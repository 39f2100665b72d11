import type { Weights } from '../domain/weights';

/**
 * Moves traffic between the stable and the canary version of one service.
 * One adapter per technology (ALB, Gateway API, Istio, ...); each is built for one run's resolved roles.
 */
export interface TrafficRouter {
  /** Reads the weights the router applies now. */
  getWeights(): Promise<Weights>;
  /** Sends `canaryPercent` of traffic to the canary and the rest to stable, then reads back and verifies. */
  setWeights(canaryPercent: number): Promise<Weights>;
  /** The exact command a person runs to put all traffic on stable when the automatic rollback failed. */
  manualRestoreCommand(): string;
  /**
   * Whether a role's targets can take all traffic now (the health gate before a flip or a scale-down). A router whose
   * health checks run only while a role is routed (ALB checks only target groups a listener forwards to) attaches the
   * role at weight 0 first, the split unchanged, and says so in the detail.
   */
  healthOf(role: 'stable' | 'canary'): Promise<TargetHealth>;
}

/** The health of one role's targets as the router sees them. */
export interface TargetHealth {
  readonly ready: boolean;
  readonly healthy: number;
  readonly total: number;
  /** One sentence with the numbers. */
  readonly detail: string;
}
