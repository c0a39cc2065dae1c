// Hourly partitions of thunderlink_heartbeats, created ahead of the clock so that new rows never
// land in the default partition, and so that retention can later drop an hour whole.
import type { Database } from './database.js';
import { lockSql } from './locks.js';

const hourMs = 3_600_000;
/** Advisory lock key for partition maintenance: the bytes of "tlpt". */
const partitionLockKey = 0x746c7074;

export function partitionName(hourStart: Date): string {
  const stamp = hourStart.toISOString().slice(0, 13).replace(/[-T]/g, '');
  return `thunderlink_heartbeats_p${stamp}`;
}

/**
 * Creates the partitions for the current hour and the next `hoursAhead`. A partition whose range
 * already has rows in the default partition cannot be created; that hour stays in the default
 * partition and the name is returned in `skipped`.
 */
export async function ensureHeartbeatPartitions(
  db: Database,
  now: Date,
  hoursAhead = 3,
): Promise<{ created: string[]; skipped: string[] }> {
  const created: string[] = [];
  const skipped: string[] = [];
  const firstHour = Math.floor(now.getTime() / hourMs) * hourMs;
  for (let hour = 0; hour <= hoursAhead; hour += 1) {
    const start = new Date(firstHour + hour * hourMs);
    const end = new Date(start.getTime() + hourMs);
    const name = partitionName(start);
    const outcome = await db.transaction(async (tx) => {
      await tx.query(lockSql, [partitionLockKey]);
      const [found] = await tx.query<{ exists: boolean }>(
        'SELECT to_regclass($1) IS NOT NULL AS exists',
        [name],
      );
      if (found?.exists) return 'exists';
      const clash = await tx.query(
        `SELECT 1 FROM thunderlink_heartbeats_default
         WHERE inserted_at >= $1 AND inserted_at < $2 LIMIT 1`,
        [start, end],
      );
      if (clash.length > 0) return 'skipped';
      await tx.query(
        `CREATE TABLE ${name} PARTITION OF thunderlink_heartbeats
         FOR VALUES FROM ('${start.toISOString()}') TO ('${end.toISOString()}')`,
      );
      return 'created';
    });
    if (outcome === 'created') created.push(name);
    if (outcome === 'skipped') skipped.push(name);
  }
  return { created, skipped };
}
