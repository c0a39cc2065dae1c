// Liveness and retention settings with their defaults. Every time is in milliseconds; every
// deadline is a multiple of each node's own heartbeat interval.

export interface LivenessSettings {
  /** Silence, in heartbeat intervals, after which an online node becomes degraded. */
  suspectAfterIntervals: number;
  /** Silence, in heartbeat intervals, after which a node becomes offline. */
  offlineAfterIntervals: number;
  /** Time between sweeps. */
  sweepIntervalMs: number;
  /** A node that crosses its deadline more than this many times within the window is flapping. */
  flapThreshold: number;
  flapWindowMs: number;
  /** Fraction of a group's online nodes that, falling silent in one sweep, means a disruption. */
  massFailureFraction: number;
  /** Smallest number of members that must fall silent together for a disruption. */
  massFailureMinNodes: number;
  /** Longest a disruption holds its members before they are judged as usual. */
  massFailureHoldMs: number;
  /** A difference this large between registry time and elapsed monotonic time is a clock jump. */
  clockJumpThresholdMs: number;
}

export interface RetentionSettings {
  /** Age after which raw heartbeats are folded into rollups and their partition dropped. */
  heartbeatRetentionMs: number;
  minuteRollupRetentionMs: number;
  hourRollupRetentionMs: number;
  /** Age after which outbox events are deleted; clients can resume within this window. */
  eventRetentionMs: number;
  /** Time an offline node stays registered before it is deregistered. */
  reapAfterMs: number;
  /** Time between retention passes. */
  retentionIntervalMs: number;
}

const hourMs = 3_600_000;

export const defaultLivenessSettings: LivenessSettings = {
  suspectAfterIntervals: 2.5,
  offlineAfterIntervals: 6,
  sweepIntervalMs: 1000,
  flapThreshold: 3,
  flapWindowMs: 10 * 60_000,
  massFailureFraction: 0.55,
  massFailureMinNodes: 3,
  massFailureHoldMs: 10 * 60_000,
  clockJumpThresholdMs: 2000,
};

export const defaultRetentionSettings: RetentionSettings = {
  heartbeatRetentionMs: 24 * hourMs,
  minuteRollupRetentionMs: 48 * hourMs,
  hourRollupRetentionMs: 30 * 24 * hourMs,
  eventRetentionMs: 24 * hourMs,
  reapAfterMs: 72 * hourMs,
  retentionIntervalMs: 60_000,
};
