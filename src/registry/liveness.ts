// The liveness sweep: one pass, under a lock that one replica holds at a time, that judges every
// node past its deadline. Deadlines are multiples of each node's heartbeat interval, counted
// from its last heartbeat (or its registration, or the end of its maintenance), in registry time.
import type { LivenessSettings } from '../liveness/settings.js';
import type { Queryable } from '../store/database.js';
import {
  type DisruptedGroup,
  type LivenessCandidate,
  disruptedGroups,
  lockCandidates,
  markGroupDisrupted,
  onlineMembers,
  setDisruptionHold,
  trySweepLock,
  writeCrossings,
  writeLastSweep,
} from '../store/liveness.js';
import type { Emit, RegistryContext } from './context.js';
import type { NodeStatus } from './model.js';
import { transitionMany } from './nodes.js';

/**
 * Extra time after a start or a clock jump. A node that was alive at the last sweep before it
 * (`reference`) gets deadlines no earlier than `from` plus one interval, so the registry's own
 * downtime or clock step is not held against the node, and no life grows by more than that.
 */
export interface Grace {
  from: number;
  /** Registry time of the last sweep before the start or jump; null when there was none. */
  reference: number | null;
}

export interface Transition {
  node: string;
  from: NodeStatus;
  to: NodeStatus;
}

export interface SweepResult {
  /** True when another replica was sweeping, so this one did nothing. */
  skipped: boolean;
  transitions: Transition[];
  disruptionsStarted: string[];
  disruptionsEnded: string[];
}

interface Judgement {
  candidate: LivenessCandidate;
  silent: boolean;
  pastOffline: boolean;
  /** Whether the node's newest crossing happened within its last interval. */
  recent: boolean;
  crossings: number[];
  flapping: boolean;
}

export async function sweep(
  ctx: RegistryContext,
  settings: LivenessSettings,
  grace: Grace | null,
): Promise<SweepResult> {
  // Built inside the transaction, so a retried attempt does not report the failed one's work.
  let result = emptyResult(false);
  await ctx.change(async (tx, emit, now) => {
    result = emptyResult(false);
    if (!(await trySweepLock(tx))) {
      result.skipped = true;
      return;
    }
    const nowMs = now.getTime();
    const latestBase = new Date(Math.min(grace?.from ?? nowMs, nowMs));
    const candidates = await lockCandidates(tx, now, settings.suspectAfterIntervals, latestBase);
    const judgements = candidates.map((candidate) => judge(candidate, nowMs, settings, grace));
    await writeCrossings(tx, judgements.filter(judgementChanged).map(crossingUpdate));

    const disrupted = new Map((await disruptedGroups(tx)).map((group) => [group.id, group]));
    result.disruptionsEnded = await endDisruptions(tx, emit, nowMs, disrupted, settings);
    result.disruptionsStarted = await detectDisruptions(
      tx,
      emit,
      now,
      judgements,
      disrupted,
      settings,
    );

    const changes: { id: string; status: NodeStatus }[] = [];
    const holds = new Map<string | null, string[]>();
    for (const judgement of judgements) {
      const target = decide(judgement, disrupted);
      if (target.hold !== undefined) {
        holds.set(target.hold, [...(holds.get(target.hold) ?? []), judgement.candidate.id]);
      }
      if (target.status !== judgement.candidate.status) {
        changes.push({ id: judgement.candidate.id, status: target.status });
      }
    }
    await recordHolds(tx, holds, disrupted);
    const moved = await transitionMany(tx, emit, now, changes, {
      respectMaintenance: true,
      holdLinks: true,
    });
    result.transitions = moved.map(({ node, from }) => ({
      node: node.name,
      from,
      to: node.status,
    }));
    await writeLastSweep(tx, now);
  });
  return result;
}

function emptyResult(skipped: boolean): SweepResult {
  return { skipped, transitions: [], disruptionsStarted: [], disruptionsEnded: [] };
}

function judge(
  candidate: LivenessCandidate,
  nowMs: number,
  settings: LivenessSettings,
  grace: Grace | null,
): Judgement {
  const interval = candidate.interval_ms;
  // A heartbeat stamped after `now` was received before the clock was stepped back: count the
  // silence from the jump (or from now, without one), so a backward jump cannot stretch a life.
  const stamped = candidate.base.getTime();
  const base = stamped > nowMs ? Math.min(grace?.from ?? nowMs, nowMs) : stamped;
  const floor = (deadline: number) =>
    grace && (grace.reference === null || deadline > grace.reference)
      ? Math.max(deadline, grace.from + interval)
      : deadline;
  const silent = nowMs >= floor(base + settings.suspectAfterIntervals * interval);
  const pastOffline = nowMs >= floor(base + settings.offlineAfterIntervals * interval);

  const crossings = candidate.crossings
    .map((time) => new Date(time).getTime())
    .filter((time) => time > nowMs - settings.flapWindowMs);
  // One silence counts once: the crossing records the heartbeat it followed.
  if (silent && candidate.crossing_seen_at?.getTime() !== candidate.base.getTime()) {
    crossings.push(nowMs);
  }
  let flapping = candidate.flapping;
  if (!flapping && crossings.length > settings.flapThreshold) flapping = true;
  // Steady for the window: no crossing left in it. The next heartbeat then brings the node back
  // to whatever status it reports.
  if (flapping && !silent && crossings.length === 0) flapping = false;
  const newest = crossings.length > 0 ? Math.max(...crossings) : undefined;
  return {
    candidate,
    silent,
    pastOffline,
    recent: newest !== undefined && newest >= nowMs - interval,
    crossings,
    flapping,
  };
}

function judgementChanged(judgement: Judgement): boolean {
  const { candidate } = judgement;
  return (
    judgement.flapping !== candidate.flapping ||
    judgement.crossings.length !== candidate.crossings.length ||
    (judgement.silent && candidate.crossing_seen_at?.getTime() !== candidate.base.getTime())
  );
}

function crossingUpdate(judgement: Judgement) {
  return {
    id: judgement.candidate.id,
    crossings: judgement.crossings.map((time) => new Date(time)),
    crossingSeenAt: judgement.silent
      ? judgement.candidate.base
      : judgement.candidate.crossing_seen_at,
    flapping: judgement.flapping,
  };
}

/**
 * Ends each disruption once at least half of its members have come back, or once it has held
 * them for `massFailureHoldMs`. Members still silent are then judged as usual.
 */
async function endDisruptions(
  tx: Queryable,
  emit: Emit,
  nowMs: number,
  disrupted: Map<string, DisruptedGroup>,
  settings: LivenessSettings,
): Promise<string[]> {
  const ended: string[] = [];
  for (const group of [...disrupted.values()]) {
    const returned = group.held * 2 <= group.disrupted_affected;
    const expired = nowMs - group.disrupted_since.getTime() >= settings.massFailureHoldMs;
    if (!returned && !expired) continue;
    await markGroupDisrupted(tx, group.id, null, null);
    emit('cluster.group.disrupted', disruptionPayload(group.name, group.id, false, group.held));
    ended.push(group.name);
    disrupted.delete(group.id);
  }
  return ended;
}

/**
 * Starts a disruption for each group most of whose online members fell silent within the last
 * heartbeat interval: the registry more likely lost its own view of that group than the group
 * failed, so its silent members are held as disconnected instead of judged offline.
 */
async function detectDisruptions(
  tx: Queryable,
  emit: Emit,
  now: Date,
  judgements: Judgement[],
  disrupted: Map<string, DisruptedGroup>,
  settings: LivenessSettings,
): Promise<string[]> {
  const recentlySilent = judgements.filter(
    (judgement) =>
      judgement.silent &&
      judgement.recent &&
      judgement.candidate.disrupted_group_id === null &&
      (judgement.candidate.status === 'online' || judgement.candidate.status === 'degraded'),
  );
  const silentByGroup = new Map<string, Judgement[]>();
  for (const judgement of recentlySilent) {
    for (const groupId of judgement.candidate.group_ids) {
      silentByGroup.set(groupId, [...(silentByGroup.get(groupId) ?? []), judgement]);
    }
  }
  const online = await onlineMembers(tx, [...silentByGroup.keys()]);
  const started: string[] = [];
  for (const [groupId, silent] of silentByGroup) {
    if (disrupted.has(groupId) || silent.length < settings.massFailureMinNodes) continue;
    // Members already degraded within the interval were online moments ago.
    const wasOnline =
      (online.get(groupId) ?? 0) +
      silent.filter((judgement) => judgement.candidate.status !== 'online').length;
    if (silent.length / wasOnline <= settings.massFailureFraction) continue;
    const [row] = await tx.query<{ name: string }>(
      'SELECT name FROM thunderlink_node_groups WHERE id = $1',
      [groupId],
    );
    const name = row?.name ?? groupId;
    await markGroupDisrupted(tx, groupId, now, 0);
    disrupted.set(groupId, {
      id: groupId,
      name,
      disrupted_since: now,
      disrupted_affected: 0,
      held: 0,
    });
    emit('cluster.group.disrupted', {
      ...disruptionPayload(name, groupId, true, silent.length),
      nodes: silent.map((judgement) => judgement.candidate.name),
    });
    started.push(name);
  }
  return started;
}

function disruptionPayload(group: string, groupId: string, disrupted: boolean, affected: number) {
  return { group, group_id: groupId, disrupted, affected };
}

/** Stores new and released holds, and adds new holds to their disruption's affected count. */
async function recordHolds(
  tx: Queryable,
  holds: Map<string | null, string[]>,
  disrupted: Map<string, DisruptedGroup>,
): Promise<void> {
  for (const [groupId, nodeIds] of holds) {
    await setDisruptionHold(tx, nodeIds, groupId);
    const group = groupId === null ? undefined : disrupted.get(groupId);
    if (group) {
      await markGroupDisrupted(
        tx,
        group.id,
        group.disrupted_since,
        group.disrupted_affected + nodeIds.length,
      );
    }
  }
}

/** The status a node should have now, and the disruption hold to set (null clears it). */
function decide(
  judgement: Judgement,
  disrupted: Map<string, DisruptedGroup>,
): { status: NodeStatus; hold?: string | null } {
  const { candidate } = judgement;
  const heldBy = candidate.disrupted_group_id;
  if (heldBy !== null && disrupted.has(heldBy)) return { status: candidate.status };

  // A member that fell silent with its group is held; one silent since before is judged as usual.
  if (judgement.silent && judgement.recent && heldBy === null) {
    const group = candidate.group_ids.find((groupId) => disrupted.has(groupId));
    if (group !== undefined && candidate.status !== 'disconnected') {
      return { status: 'disconnected', hold: group };
    }
  }
  const release = heldBy !== null ? { hold: null } : {};
  if (judgement.pastOffline) return { status: 'offline', ...release };
  if (judgement.silent) {
    const status = candidate.status === 'online' || heldBy !== null ? 'degraded' : candidate.status;
    return { status, ...release };
  }
  return { status: candidate.status, ...release };
}
