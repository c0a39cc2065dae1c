// Reads of the whole topology and of the outbox.
import { RegistryError, invalid } from '../errors.js';
import { graphNodes, openGraphLinks } from '../store/graph.js';
import { subtreeIds } from '../store/groups.js';
import { latestSeq, readEvents } from '../store/outbox.js';
import { readPrunedThrough } from '../store/retention.js';
import type { RegistryContext } from './context.js';
import { requireGroup } from './lookup.js';
import type { Graph } from './model.js';
import type { EventPage, GraphFilter } from './operations.js';

/**
 * Reads the graph in one snapshot, so `seq` is exactly the outbox position it reflects: every event
 * up to `seq` is in it and none after. Links appear only when both of their ends do.
 */
export async function readGraph(ctx: RegistryContext, filter: GraphFilter): Promise<Graph> {
  return ctx.db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const groupIds =
      filter.group === undefined
        ? undefined
        : await subtreeIds(tx, (await requireGroup(tx, filter.group)).id);
    const seq = await latestSeq(tx);
    const nodes = await graphNodes(tx, {
      includeOffline: filter.include_offline ?? false,
      groupIds,
    });
    const present = new Set(nodes.map((node) => node.id));
    const links = (await openGraphLinks(tx)).filter(
      (link) => present.has(link.source) && present.has(link.target),
    );
    return { seq, nodes, links };
  });
}

/** Largest page of events one request returns. */
export const maxEventPage = 1000;

export async function readEventPage(
  ctx: RegistryContext,
  since: number,
  limit = maxEventPage,
): Promise<EventPage> {
  if (!Number.isSafeInteger(since) || since < 0) {
    throw invalid('since', `must be a whole number of at least 0 (got ${since})`);
  }
  if (!Number.isInteger(limit) || limit < 1 || limit > maxEventPage) {
    throw invalid('limit', `must be a whole number from 1 to ${maxEventPage} (got ${limit})`);
  }
  const events = await readEvents(ctx.db, since, limit);
  // Read after the events: retention deletes events and raises pruned_through in one transaction,
  // so a page that misses deleted events always reads the raised value here.
  const prunedThrough = await readPrunedThrough(ctx.db);
  if (since < prunedThrough) {
    throw new RegistryError(
      'TL_ERR_SINCE_EXPIRED',
      `the events after since=${since} were deleted by retention (through seq ${prunedThrough}); ` +
        'reload GET /graph and continue from its seq',
    );
  }
  if (events.length === 0 && since > 0) {
    const newest = await latestSeq(ctx.db);
    if (since > newest) {
      throw new RegistryError(
        'TL_ERR_SINCE_EXPIRED',
        `since=${since} is ahead of the newest event (${newest}), so the registry was reset; ` +
          'reload the graph and continue from its seq',
      );
    }
  }
  const last = events[events.length - 1];
  return { events, next_seq: last ? last.seq : since };
}
