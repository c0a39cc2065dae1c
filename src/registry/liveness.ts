// The liveness sweep: one pass, under a lock that one replica holds at a time, that judges every
// node past its deadline. Deadlines are multiples of each node's heartbeat interval, counted
// from its last heartbeat (or its registration), in registry time only.
import type { LivenessSettings } from '../liveness/settings.js';
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
import { transition } from './nodes.js';

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
  crossings: number[];
  newestCrossing: number | undefined;
  flapping: boolean;
}

export async function sweep(
  ctx: RegistryContext,
  settings: LivenessSettings,
  grace: Grace | null,
): Promise<SweepResult> {
  const result: SweepResult = {
    skipped: false,
    transitions: [],
    disruptionsStarted: [],
    disruptionsEnded: [],
  };
  await ctx.change(async (tx, emit, now) => {
    if (!(await trySweepLock(tx))) {
      result.skipped = true;
      return;
    }
    const nowMs = now.getTime();
    const candidates = await lockCandidates(tx, now, settings.suspectAfterIntervals);
    const judgements = candidates.map((candidate) => judge(candidate, nowMs, settings, grace));
    await writeCrossings(
      tx,
      judgements
        .filter((judgement) => judgementChanged(judgement))
        .map((judgement) => ({
          id: judgement.candidate.id,
          crossings: judgement.crossings.map((time) => new Date(time)),
          crossingSeenAt: judgement.silent
            ? judgement.candidate.base
            : judgement.candidate.crossing_seen_at,
          flapping: judgement.flapping,
        })),
    );

    const disrupted = new Map((await disruptedGroups(tx)).map((group) => [group.id, group]));
    for (const group of disrupted.values()) {
      if (group.held * 2 > group.disrupted_affected) continue;
      await markGroupDisrupted(tx, group.id, null, null);
      emit('cluster.group.disrupted', disruptionPayload(group.name, group.id, false, group.held));
      result.disruptionsEnded.push(group.name);
      disrupted.delete(group.id);
    }
    const started = await detectDisruptions(tx, emit, now, judgements, disrupted, settings);
    result.disruptionsStarted.push(...started);

    for (const judgement of judgements) {
      const { candidate } = judgement;
      const target = decide(judgement, disrupted, nowMs);
      if (target.hold !== undefined) {
        await setDisruptionHold(tx, [candidate.id], target.hold);
      }
      if (target.status === candidate.status) continue;
      const moved = await transition(tx, emit, now, candidate.id, target.status, {
        respectMaintenance: true,
        holdLinks: true,
      });
      if (moved) {
        result.transitions.push({
          node: candidate.name,
          from: candidate.status,
          to: target.status,
        });
      }
    }
    await writeLastSweep(tx, now);
  });
  return result;
}

function judge(
  candidate: LivenessCandidate,
  nowMs: number,
  settings: LivenessSettings,
  grace: Grace | null,
): Judgement {
  const interval = candidate.interval_ms;
  const base = candidate.base.getTime();
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
  if (silent && candidate.crossing_seen_at?.getTime() !== base) crossings.push(nowMs);
  let flapping = candidate.flapping;
  if (!flapping && crossings.length > settings.flapThreshold) flapping = true;
  if (flapping && !silent && crossings.length === 0) flapping = false;
  return {
    candidate,
    silent,
    pastOffline,
    crossings,
    newestCrossing: crossings.length > 0 ? Math.max(...crossings) : undefined,
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

/**
 * Starts a disruption for each group most of whose online members fell silent within the last
 * heartbeat interval: the registry more likely lost its own view of that group than the group
 * failed, so its silent members are held as disconnected instead of judged offline.
 */
async function detectDisruptions(
  tx: Parameters<typeof onlineMembers>[0],
  emit: Emit,
  now: Date,
  judgements: Judgement[],
  disrupted: Map<string, DisruptedGroup>,
  settings: LivenessSettings,
): Promise<string[]> {
  const nowMs = now.getTime();
  const recentlySilent = judgements.filter(
    (judgement) =>
      judgement.silent &&
      judgement.candidate.disrupted_group_id === null &&
      (judgement.candidate.status === 'online' || judgement.candidate.status === 'degraded') &&
      judgement.newestCrossing !== undefined &&
      judgement.newestCrossing >= nowMs - judgement.candidate.interval_ms,
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
    if (disrupted.has(groupId)) continue;
    // Members already degraded within the interval were online moments ago.
    const wasOnline =
      (online.get(groupId) ?? 0) +
      silent.filter((judgement) => judgement.candidate.status !== 'online').length;
    if (wasOnline < settings.massFailureMinNodes) continue;
    if (silent.length / wasOnline <= settings.massFailureFraction) continue;
    const [row] = await tx.query<{ name: string }>(
      'SELECT name FROM thunderlink_node_groups WHERE id = $1',
      [groupId],
    );
    const name = row?.name ?? groupId;
    await markGroupDisrupted(tx, groupId, now, silent.length);
    disrupted.set(groupId, {
      id: groupId,
      name,
      disrupted_since: now,
      disrupted_affected: silent.length,
      held: silent.length,
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

/** The status a node should have now, and the disruption hold to set (null clears it). */
function decide(
  judgement: Judgement,
  disrupted: Map<string, DisruptedGroup>,
  nowMs: number,
): { status: NodeStatus; hold?: string | null } {
  const { candidate } = judgement;
  const heldBy = candidate.disrupted_group_id;
  if (heldBy !== null && disrupted.has(heldBy)) return { status: candidate.status };

  const release = heldBy !== null ? { hold: null } : {};
  // A member that fell silent with its group is held; one silent since before is judged as usual.
  const recent =
    judgement.newestCrossing !== undefined &&
    judgement.newestCrossing >= nowMs - candidate.interval_ms;
  if (judgement.silent && recent && candidate.status !== 'disconnected') {
    const group = candidate.group_ids.find((groupId) => disrupted.has(groupId));
    if (group !== undefined) return { status: 'disconnected', hold: group };
  }
  if (judgement.pastOffline) return { status: 'offline', ...release };
  if (judgement.silent) {
    const status = candidate.status === 'online' || heldBy !== null ? 'degraded' : candidate.status;
    return { status, ...release };
  }
  if (candidate.status === 'degraded' && candidate.flapping && !judgement.flapping) {
    return { status: 'online', ...release };
  }
  return { status: candidate.status, ...release };
}
