// Link session operations: establish, refresh, update, close and fail, and their reads.
import { RegistryError, invalid, notFound } from '../errors.js';
import type { Queryable } from '../store/database.js';
import { graphLinkById } from '../store/graph.js';
import * as store from '../store/links.js';
import type { Emit, RegistryContext } from './context.js';
import { requireNode } from './lookup.js';
import type { LinkRecord, NodeRecord } from './model.js';
import type {
  EstablishLinkInput,
  LinkAttributes,
  LinkFilter,
  UpdateLinkInput,
} from './operations.js';
import { checkFiniteRange, checkMeta } from './validation.js';

export function checkLinkAttributes(ctx: RegistryContext, attributes: LinkAttributes): void {
  checkFiniteRange('weight', attributes.weight, 0, 1);
  checkFiniteRange('latency_ms', attributes.latency_ms, 0, Number.MAX_SAFE_INTEGER);
  checkFiniteRange('bandwidth_mbps', attributes.bandwidth_mbps, 0, Number.MAX_SAFE_INTEGER);
  if (attributes.meta !== undefined) checkMeta('meta', attributes.meta, ctx.settings.metaLimits);
}

async function emitLink(
  tx: Queryable,
  emit: Emit,
  name: 'cluster.link.established' | 'cluster.link.updated',
  link: LinkRecord,
): Promise<void> {
  emit(name, { link: await graphLinkById(tx, link.id) });
}

/** Resolves both ends of a new link, rejecting a link from a node to itself. */
async function resolvePair(
  tx: Queryable,
  nodeRef: string,
  remoteRef: string,
): Promise<[NodeRecord, NodeRecord]> {
  const node = await requireNode(tx, nodeRef);
  const remote = await requireNode(tx, remoteRef).catch((error: unknown) => {
    if (error instanceof RegistryError && error.code === 'TL_ERR_NODE_NOT_FOUND') {
      throw notFound(
        'TL_ERR_NODE_NOT_FOUND',
        `remote_node_id ${JSON.stringify(remoteRef)} is not a registered node; register it first`,
      );
    }
    throw error;
  });
  if (node.id === remote.id) {
    throw new RegistryError('TL_ERR_SELF_LINK', `node ${node.name} cannot link to itself`, {
      invalidParams: [{ name: 'remote_node_id', reason: 'must name a node other than node_id' }],
    });
  }
  return [node, remote];
}

export async function establishLink(
  ctx: RegistryContext,
  input: EstablishLinkInput,
): Promise<LinkRecord> {
  checkLinkAttributes(ctx, input);
  return ctx.change(async (tx, emit, now) => {
    const [node, remote] = await resolvePair(tx, input.node_id, input.remote_node_id);
    const status = input.status ?? 'established';
    const link = await store.insertLink(
      tx,
      { ...input, node_id: node.id, remote_node_id: remote.id, status },
      now,
    );
    if (!link) {
      const existing = await store.findOpenLink(tx, node.id, remote.id);
      throw new RegistryError(
        'TL_ERR_LINK_EXISTS',
        `nodes ${node.name} and ${remote.name} already have an open link` +
          (existing
            ? ` (${existing.id}); update it with PATCH /api/thunderlink/links/${existing.id}`
            : ''),
      );
    }
    const event = status === 'established' ? 'cluster.link.established' : 'cluster.link.updated';
    await emitLink(tx, emit, event, link);
    return link;
  });
}

/**
 * Establishes the link between two nodes, or refreshes the open one: its attributes are updated,
 * it becomes established, and it counts as active now. Runs inside the caller's change.
 */
export async function establishOrRefresh(
  tx: Queryable,
  emit: Emit,
  now: Date,
  nodeRef: string,
  remoteRef: string,
  attributes: LinkAttributes,
): Promise<LinkRecord> {
  const [node, remote] = await resolvePair(tx, nodeRef, remoteRef);
  let existing = await store.findOpenLink(tx, node.id, remote.id);
  if (!existing) {
    const link = await store.insertLink(
      tx,
      { ...attributes, node_id: node.id, remote_node_id: remote.id, status: 'established' },
      now,
    );
    if (link) {
      await emitLink(tx, emit, 'cluster.link.established', link);
      return link;
    }
    // A concurrent request opened the link between the lookup and the insert: refresh that one.
    existing = await store.findOpenLink(tx, node.id, remote.id);
    if (!existing) throw new RegistryError('TL_ERR_LINK_EXISTS', 'a concurrent request opened it');
  }
  const link = await store.updateLink(
    tx,
    existing.id,
    { ...attributes, status: 'established' },
    now,
  );
  if (existing.status !== 'established') {
    await emitLink(tx, emit, 'cluster.link.established', link);
  } else if (attributesChanged(existing, attributes)) {
    await emitLink(tx, emit, 'cluster.link.updated', link);
  }
  return link;
}

function attributesChanged(link: LinkRecord, patch: UpdateLinkInput): boolean {
  return (Object.keys(patch) as (keyof UpdateLinkInput)[]).some(
    (key) => patch[key] !== undefined && JSON.stringify(link[key]) !== JSON.stringify(patch[key]),
  );
}

async function requireLink(tx: Queryable, id: string): Promise<LinkRecord> {
  const link = await store.findLink(tx, id, true);
  if (!link) throw notFound('TL_ERR_LINK_NOT_FOUND', `link ${id} not found`);
  return link;
}

export async function updateLink(
  ctx: RegistryContext,
  id: string,
  patch: UpdateLinkInput,
): Promise<LinkRecord> {
  checkLinkAttributes(ctx, patch);
  return ctx.change(async (tx, emit, now) => {
    const existing = await requireLink(tx, id);
    if (existing.status === 'closed' || existing.status === 'failed') {
      throw new RegistryError(
        'TL_ERR_LINK_ENDED',
        `link ${id} is ${existing.status}; establish a new link with POST /api/thunderlink/links`,
      );
    }
    const link = await store.updateLink(tx, id, patch, now);
    const becameEstablished = patch.status === 'established' && existing.status !== 'established';
    if (becameEstablished) await emitLink(tx, emit, 'cluster.link.established', link);
    else if (attributesChanged(existing, patch)) {
      await emitLink(tx, emit, 'cluster.link.updated', link);
    }
    return link;
  });
}

export async function endLink(
  ctx: RegistryContext,
  id: string,
  status: 'closed' | 'failed',
  reason: string | undefined,
): Promise<LinkRecord> {
  if (reason !== undefined && reason.length > 512) {
    throw invalid('reason', `must be at most 512 characters (got ${reason.length})`);
  }
  return ctx.change(async (tx, emit, now) => {
    const existing = await requireLink(tx, id);
    const link = await store.endLink(tx, id, status, reason ?? null, now);
    if (!link) {
      throw new RegistryError('TL_ERR_LINK_ENDED', `link ${id} is already ${existing.status}`);
    }
    const name = status === 'closed' ? 'cluster.link.closed' : 'cluster.link.failed';
    emit(name, {
      link: {
        id: link.id,
        source: link.node_id,
        target: link.remote_node_id,
        status: link.status,
        reason: link.end_reason,
      },
    });
    return link;
  });
}

export async function getLink(ctx: RegistryContext, id: string): Promise<LinkRecord> {
  const link = await store.findLink(ctx.db, id);
  if (!link) throw notFound('TL_ERR_LINK_NOT_FOUND', `link ${id} not found`);
  return link;
}

export async function listLinks(
  ctx: RegistryContext,
  filter: LinkFilter & { limit: number },
): Promise<LinkRecord[]> {
  const nodeId =
    filter.node_id === undefined ? undefined : (await requireNode(ctx.db, filter.node_id)).id;
  return store.listLinks(ctx.db, { ...filter, node_id: nodeId });
}
