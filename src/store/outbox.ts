// The outbox: events written in the same transaction as the change they describe.
import type { EventName, OutboxEvent } from '../registry/model.js';
import type { Queryable } from './database.js';
import { toRecords } from './rows.js';
import { lockSql } from './locks.js';

/** Advisory lock key that orders outbox writers by commit: the bytes of "tlev". */
const outboxLockKey = 0x746c6576;

/** The NOTIFY channel that wakes outbox readers; its payload is the newest seq. */
export const outboxChannel = 'thunderlink_events';

export interface PendingEvent {
  name: EventName;
  payload: Record<string, unknown>;
}

/**
 * Appends events as the last step of a transaction. The lock taken here is held until the
 * transaction ends, so no other writer can take a seq until this one commits: seq order is commit
 * order. Callers must make no further row changes after this, or two writers could deadlock.
 */
export async function appendEvents(
  tx: Queryable,
  events: PendingEvent[],
  now: Date,
): Promise<number[]> {
  if (events.length === 0) return [];
  await tx.query(lockSql, [outboxLockKey]);
  const rows = await tx.query<{ seq: number }>(
    `INSERT INTO thunderlink_events (seq, name, payload, inserted_at)
     SELECT nextval('thunderlink_events_seq'), e.name, e.payload, $3
     FROM unnest($1::text[], $2::jsonb[]) WITH ORDINALITY AS e(name, payload, position)
     ORDER BY e.position
     RETURNING seq`,
    [events.map((event) => event.name), events.map((event) => JSON.stringify(event.payload)), now],
  );
  const seqs = rows.map((row) => row.seq).sort((a, b) => a - b);
  await tx.query('SELECT pg_notify($1, $2)', [outboxChannel, String(seqs[seqs.length - 1])]);
  return seqs;
}

export async function readEvents(
  q: Queryable,
  since: number,
  limit: number,
): Promise<OutboxEvent[]> {
  const rows = await q.query(
    `SELECT seq, name, payload, inserted_at FROM thunderlink_events
     WHERE seq > $1 ORDER BY seq LIMIT $2`,
    [since, limit],
  );
  return toRecords<OutboxEvent>(rows);
}

export async function latestSeq(q: Queryable): Promise<number> {
  const [row] = await q.query<{ seq: number }>(
    'SELECT COALESCE(max(seq), 0)::bigint AS seq FROM thunderlink_events',
  );
  return row?.seq ?? 0;
}
