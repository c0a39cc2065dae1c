// The heartbeat path. Heartbeats that arrive while a write is in flight wait, then go to the
// database together in one statement (group commit). Under load many heartbeats share one round
// trip and one commit, and a lone heartbeat waits for nothing. A heartbeat is acknowledged only
// after its statement has committed.
import { RegistryError, invalid } from '../errors.js';
import { type HeartbeatRow, type TouchedNode, recordHeartbeats } from '../store/heartbeats.js';
import { isUuid, pgErrorCode } from '../store/rows.js';
import { type RegistryContext, isRetryable } from './context.js';
import { heartbeatStatuses, type NodeStatus } from './model.js';
import { transitionMany } from './nodes.js';
import type { HeartbeatInput, HeartbeatResult } from './operations.js';
import { checkFiniteRange, checkMeta, unstorableReason } from './validation.js';

/** Largest number of heartbeats written by one statement. */
const maxBatchRows = 5000;

interface Waiting {
  row: HeartbeatRow;
  settle: (result: TouchedNode | null | Error) => void;
}

export class HeartbeatWriter {
  private queue: Waiting[] = [];
  private writing = false;

  constructor(private readonly ctx: RegistryContext) {}

  /** Records heartbeats; resolves with each touched node, or null for an unknown reference. */
  write(rows: HeartbeatRow[]): Promise<(TouchedNode | null)[]> {
    const settled = rows.map(
      (row) =>
        new Promise<TouchedNode | null>((resolve, reject) => {
          this.queue.push({
            row,
            settle: (result) => (result instanceof Error ? reject(result) : resolve(result)),
          });
        }),
    );
    if (!this.writing) {
      this.writing = true;
      // Let heartbeats that arrive in the same tick join this batch.
      queueMicrotask(() => void this.drain());
    }
    return Promise.all(settled);
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, maxBatchRows);
      try {
        await this.settleBatch(batch);
      } catch (error) {
        if (batch.length > 1 && isDataError(error)) {
          // One row the database rejected must not fail its neighbours: write each alone.
          for (const waiting of batch) {
            await this.settleBatch([waiting]).catch((rowError: unknown) =>
              waiting.settle(asError(rowError)),
            );
          }
        } else {
          for (const waiting of batch) waiting.settle(asError(error));
        }
      }
    }
    this.writing = false;
  }

  private async settleBatch(batch: Waiting[]): Promise<void> {
    const touched = await this.flush(batch.map((waiting) => waiting.row));
    for (const waiting of batch) waiting.settle(touched.get(refKey(waiting.row.node_ref)) ?? null);
  }

  /**
   * Runs the batched statement. It is atomic, so after a deadlock or serialization failure
   * nothing was written and it can run again.
   */
  private async record(rows: HeartbeatRow[]): Promise<TouchedNode[]> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await recordHeartbeats(this.ctx.db, rows, this.ctx.clock.now());
      } catch (error) {
        if (!isRetryable(error) || attempt >= 3) throw error;
        this.ctx.logger.warn({ err: error, attempt }, 'heartbeat write conflict, retrying');
      }
    }
  }

  /**
   * Writes one batch, then moves the nodes whose heartbeat changes their status. Returns the
   * touched nodes by id and by name.
   */
  private async flush(rows: HeartbeatRow[]): Promise<Map<string, TouchedNode>> {
    const touched = await this.record(rows);
    const targets = new Map<string, NodeStatus>();
    for (const row of rows) {
      targets.set(refKey(row.node_ref), row.status === 'degraded' ? 'degraded' : 'online');
    }
    // The newest heartbeat in the batch decides, whichever reference it used, except that
    // liveness holds a flapping node degraded until it has been steady for the window.
    const changes: { id: string; status: NodeStatus }[] = [];
    for (const node of touched) {
      const reported = targets.get(node.id) ?? targets.get(node.name) ?? 'online';
      const target = node.flapping ? 'degraded' : reported;
      if (!node.maintenance && node.status !== target)
        changes.push({ id: node.id, status: target });
    }
    // All status changes of a batch share one transaction, so a gateway's devices coming back
    // together cost one commit rather than one each.
    const moved =
      changes.length === 0
        ? []
        : await this.ctx.change((tx, emit, now) =>
            transitionMany(tx, emit, now, changes, { respectMaintenance: true }),
          );
    const newStatus = new Map(moved.map(({ node }) => [node.id, node.status]));
    const byKey = new Map<string, TouchedNode>();
    for (const node of touched) {
      const current = { ...node, status: newStatus.get(node.id) ?? node.status };
      byKey.set(node.id, current);
      byKey.set(node.name, current);
    }
    return byKey;
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** Errors of PostgreSQL classes 22 (data exception) and 23 (integrity constraint violation). */
function isDataError(error: unknown): boolean {
  const code = pgErrorCode(error);
  return code !== undefined && (code.startsWith('22') || code.startsWith('23'));
}

/** The key a reference has in the touched map: ids in lower case, names as they are. */
function refKey(ref: string): string {
  return isUuid(ref) ? ref.toLowerCase() : ref;
}

export function checkHeartbeat(ctx: RegistryContext, input: HeartbeatInput, prefix = ''): void {
  if (input.status !== undefined && !heartbeatStatuses.includes(input.status)) {
    throw invalid(`${prefix}status`, `must be one of ${heartbeatStatuses.join(', ')}`);
  }
  if (input.status === 'offline') {
    throw invalid(
      `${prefix}status`,
      'must be online or degraded: a node that sends a heartbeat is not offline; ' +
        'use PUT /nodes/:id/status to mark a node offline',
    );
  }
  checkFiniteRange(`${prefix}cpu_load`, input.cpu_load, 0, 1_000_000);
  checkFiniteRange(`${prefix}mem_used_mb`, input.mem_used_mb, 0, Number.MAX_SAFE_INTEGER);
  checkFiniteRange(`${prefix}latency_ms`, input.latency_ms, 0, Number.MAX_SAFE_INTEGER);
  if (input.meta !== undefined) checkMeta(`${prefix}meta`, input.meta, ctx.settings.metaLimits);
}

export async function heartbeat(
  ctx: RegistryContext,
  writer: HeartbeatWriter,
  ref: string,
  input: HeartbeatInput,
): Promise<TouchedNode> {
  checkHeartbeat(ctx, input);
  const [touched] = await writer.write([{ ...input, node_ref: ref }]);
  if (!touched) {
    throw new RegistryError(
      'TL_ERR_NODE_NOT_FOUND',
      `node ${JSON.stringify(ref)} not found; a heartbeat never registers a node, ` +
        'so register it with POST /api/thunderlink/nodes',
    );
  }
  return touched;
}

/**
 * Records heartbeats for many nodes. Items are checked one by one: an invalid item or an unknown
 * node fails that item alone, and the valid items are still recorded.
 */
export async function heartbeats(
  ctx: RegistryContext,
  writer: HeartbeatWriter,
  items: (HeartbeatInput & { node_id: string })[],
): Promise<HeartbeatResult[]> {
  const results: HeartbeatResult[] = items.map((item) => ({ node_id: item.node_id, ok: false }));
  const accepted: { index: number; row: HeartbeatRow }[] = [];
  items.forEach((item, index) => {
    try {
      const unstorable = unstorableReason(item.node_id);
      if (unstorable !== undefined) throw invalid(`heartbeats[${index}].node_id`, unstorable);
      checkHeartbeat(ctx, item, `heartbeats[${index}].`);
    } catch (error) {
      if (!(error instanceof RegistryError)) throw error;
      results[index]!.code = error.code;
      results[index]!.detail = error.message;
      return;
    }
    const { node_id: ref, ...input } = item;
    accepted.push({ index, row: { ...input, node_ref: ref } });
  });

  const touched = await writer.write(accepted.map((entry) => entry.row));
  accepted.forEach((entry, position) => {
    const result = results[entry.index]!;
    if (touched[position]) {
      result.ok = true;
    } else {
      result.code = 'TL_ERR_NODE_NOT_FOUND';
      result.detail = `node ${JSON.stringify(result.node_id)} not found; register it first`;
    }
  });
  return results;
}
