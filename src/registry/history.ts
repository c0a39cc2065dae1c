// A node's heartbeat history: raw rows for the recent window and rollups for older time.
import { invalid } from '../errors.js';
import { recentHeartbeats, rollupsSince } from '../store/heartbeats.js';
import type { RegistryContext } from './context.js';
import { requireNode } from './lookup.js';
import type { HeartbeatHistory } from './operations.js';

/** The longest history one request may ask for: 30 days, the retention of hourly rollups. */
export const maxHistoryMinutes = 30 * 24 * 60;
/** Raw rows returned at most; older raw rows are summarised by the rollups. */
const maxRawRows = 5000;

export async function getHeartbeatHistory(
  ctx: RegistryContext,
  ref: string,
  minutes: number,
): Promise<HeartbeatHistory> {
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > maxHistoryMinutes) {
    throw invalid(
      'minutes',
      `must be a whole number from 1 to ${maxHistoryMinutes} (got ${minutes})`,
    );
  }
  const node = await requireNode(ctx.db, ref);
  const since = new Date(ctx.clock.now().getTime() - minutes * 60_000);
  const [heartbeats, rollups] = await Promise.all([
    recentHeartbeats(ctx.db, node.id, since, maxRawRows),
    rollupsSince(ctx.db, node.id, since),
  ]);
  return { heartbeats, rollups };
}
