// One retention pass: fold expired heartbeats into rollups, delete old rollups and outbox events,
// and deregister nodes that have been offline for longer than the reap window.
import { RegistryError } from '../errors.js';
import type { RetentionSettings } from '../liveness/settings.js';
import {
  type FoldResult,
  type PruneResult,
  deleteExpiredRollups,
  foldExpiredPartitions,
  offlineNodesToReap,
  pruneEvents,
} from '../store/retention.js';
import type { RegistryContext } from './context.js';
import { deregisterNode } from './nodes.js';

/** Nodes deregistered per batch, and at most per pass; the rest wait for the next pass. */
const reapBatchSize = 100;
const maxReapedPerPass = 1000;

export type RetentionStep = 'heartbeats' | 'rollups' | 'events' | 'nodes';

export interface RetentionSummary {
  heartbeats: FoldResult;
  rollups: { minute: number; hour: number };
  events: PruneResult;
  /** Ids of the nodes this pass deregistered. */
  reaped: string[];
  /** Steps that failed. Their errors are logged, and the other steps still run. */
  failed: RetentionStep[];
}

/**
 * Runs every retention step once at the registry's current time. A failing step is logged and
 * does not stop the others, and anything it left undone is retried by the next pass, since
 * every step works from the current state alone.
 */
export async function runRetention(
  ctx: RegistryContext,
  settings: RetentionSettings,
): Promise<RetentionSummary> {
  const now = ctx.clock.now();
  const summary: RetentionSummary = {
    heartbeats: { partitions: [], partitionRows: 0, defaultRows: 0 },
    rollups: { minute: 0, hour: 0 },
    events: { deleted: 0, prunedThrough: 0 },
    reaped: [],
    failed: [],
  };
  const step = async (name: RetentionStep, work: () => Promise<void>) => {
    try {
      await work();
    } catch (error) {
      summary.failed.push(name);
      ctx.logger.error({ err: error, step: name }, 'retention step failed');
    }
  };

  await step('heartbeats', async () => {
    summary.heartbeats = await foldExpiredPartitions(ctx.db, now, settings);
  });
  await step('rollups', async () => {
    summary.rollups = await deleteExpiredRollups(ctx.db, now, settings);
  });
  await step('events', async () => {
    summary.events = await pruneEvents(ctx.db, now, settings);
  });
  await step('nodes', () => reapOfflineNodes(ctx, now, settings, summary.reaped));

  if (didAnything(summary)) logSummary(ctx, summary);
  return summary;
}

/**
 * Deregisters offline nodes past the reap window in batches, each through deregisterNode so that
 * it writes its `cluster.node.deregistered` event. Ids are appended to `reaped` as they go, so a
 * failure part way still reports the nodes already removed. The status is checked again under
 * the row lock, so a node that came back after the listing stays.
 */
async function reapOfflineNodes(
  ctx: RegistryContext,
  now: Date,
  settings: RetentionSettings,
  reaped: string[],
): Promise<void> {
  let attempted = 0;
  while (attempted < maxReapedPerPass) {
    const limit = Math.min(reapBatchSize, maxReapedPerPass - attempted);
    const ids = await offlineNodesToReap(ctx.db, now, settings, limit);
    const cutoff = new Date(now.getTime() - settings.reapAfterMs);
    for (const id of ids) {
      if (await deregisterIfPresent(ctx, id, cutoff)) reaped.push(id);
    }
    attempted += ids.length;
    if (ids.length < limit) return;
  }
}

/** Returns false when another replica deregistered the node first, or it came back. */
async function deregisterIfPresent(
  ctx: RegistryContext,
  id: string,
  offlineSince: Date,
): Promise<boolean> {
  try {
    return await deregisterNode(ctx, id, { onlyIfOfflineSince: offlineSince });
  } catch (error) {
    if (error instanceof RegistryError && error.code === 'TL_ERR_NODE_NOT_FOUND') return false;
    throw error;
  }
}

function didAnything(summary: RetentionSummary): boolean {
  const { heartbeats, rollups, events, reaped } = summary;
  return (
    heartbeats.partitions.length + heartbeats.defaultRows + rollups.minute + rollups.hour > 0 ||
    events.deleted + reaped.length > 0
  );
}

function logSummary(ctx: RegistryContext, summary: RetentionSummary): void {
  const { heartbeats, rollups, events, reaped } = summary;
  ctx.logger.info(
    {
      folded_partitions: heartbeats.partitions,
      folded_rows: heartbeats.partitionRows + heartbeats.defaultRows,
      deleted_minute_rollups: rollups.minute,
      deleted_hour_rollups: rollups.hour,
      pruned_events: events.deleted,
      pruned_through: events.prunedThrough,
      reaped_nodes: reaped.length,
    },
    'retention pass',
  );
}
