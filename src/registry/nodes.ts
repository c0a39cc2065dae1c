// Node operations: registration, status, maintenance, listing, details and deregistration.
import { isDeepStrictEqual } from 'node:util';

import { invalid, RegistryError } from '../errors.js';
import type { Queryable } from '../store/database.js';
import { listCapabilities } from '../store/capabilities.js';
import { groupsOfNode, subtreeIds } from '../store/groups.js';
import { summarizeHeartbeats } from '../store/heartbeats.js';
import { listLinks, openLinkIds } from '../store/links.js';
import { graphLinksById, graphNodesById } from '../store/graph.js';
import { holdLinks, releaseLinks } from '../store/liveness.js';
import * as store from '../store/nodes.js';
import type { Emit, RegistryContext } from './context.js';
import { graphNodeOf, requireGroup, requireNode } from './lookup.js';
import type { NodeRecord, NodeStatus } from './model.js';
import type { EnsureNodeInput, NodeDetails, NodeFilter, NodePage } from './operations.js';
import {
  checkCapabilityKey,
  checkDomain,
  checkFiniteRange,
  checkMeta,
  checkName,
  unstorableReason,
} from './validation.js';

/** Minutes of heartbeats that a node's details summarise. */
const summaryMinutes = 15;

export async function ensureNode(
  ctx: RegistryContext,
  input: EnsureNodeInput,
): Promise<{ node: NodeRecord; created: boolean }> {
  checkName('name', input.name);
  if (input.domain !== undefined) checkDomain('domain', input.domain);
  if (input.meta !== undefined) checkMeta('meta', input.meta, ctx.settings.metaLimits);
  if (input.heartbeat_interval_ms !== undefined) {
    if (!Number.isInteger(input.heartbeat_interval_ms)) {
      throw invalid('heartbeat_interval_ms', 'must be a whole number of milliseconds');
    }
    checkFiniteRange('heartbeat_interval_ms', input.heartbeat_interval_ms, 100, 3_600_000);
  }

  return ctx.change(async (tx, emit, now) => {
    const inserted = await store.insertNode(tx, input, now);
    if (inserted) {
      emit('cluster.node.registered', { node: await graphNodeOf(tx, inserted.id), created: true });
      return { node: inserted, created: true };
    }
    const existing = await requireNode(tx, input.name, true);
    if (!registrationChanges(existing, input)) return { node: existing, created: false };
    const updated = await store.updateRegistration(tx, existing.id, input, now);
    emit('cluster.node.registered', { node: await graphNodeOf(tx, updated.id), created: false });
    return { node: updated, created: false };
  });
}

function registrationChanges(node: NodeRecord, input: EnsureNodeInput): boolean {
  const fields = Object.keys(input) as (keyof EnsureNodeInput)[];
  return fields.some(
    (field) => input[field] !== undefined && !isDeepStrictEqual(node[field], input[field]),
  );
}

export interface TransitionOptions {
  /** Leave a node in maintenance as it is. */
  respectMaintenance: boolean;
  /** Move the node's open links to degraded when it becomes offline (liveness does this). */
  holdLinks?: boolean;
}

/**
 * Moves nodes to new statuses inside a change, emitting status_changed for each and, when a node
 * becomes online or offline, the matching event. A node that comes back (online or degraded) gets
 * back the links that liveness held for it; with `holdLinks`, a node that becomes offline has its
 * open links held degraded. Returns the nodes that changed.
 */
export async function transitionMany(
  tx: Queryable,
  emit: Emit,
  now: Date,
  changes: { id: string; status: NodeStatus }[],
  options: TransitionOptions,
): Promise<{ node: NodeRecord; from: NodeStatus }[]> {
  const changed = await store.setStatuses(tx, changes, now, options.respectMaintenance);
  if (changed.length === 0) return [];
  const graphNodes = new Map(
    (
      await graphNodesById(
        tx,
        changed.map((entry) => entry.node.id),
      )
    ).map((node) => [node.id, node]),
  );
  for (const { node, from } of changed) {
    const payload = { node: graphNodes.get(node.id), from };
    emit('cluster.node.status_changed', payload);
    if (node.status === 'online') emit('cluster.node.online', payload);
    if (node.status === 'offline') emit('cluster.node.offline', payload);
  }

  const back = changed.filter(({ node }) => node.status === 'online' || node.status === 'degraded');
  const released = await releaseLinks(
    tx,
    back.map(({ node }) => node.id),
    now,
  );
  const gone = options.holdLinks ? changed.filter(({ node }) => node.status === 'offline') : [];
  const held = await holdLinks(
    tx,
    gone.map(({ node }) => node.id),
    now,
  );
  const links = new Map(
    (await graphLinksById(tx, [...released, ...held])).map((link) => [link.id, link]),
  );
  for (const id of released) emit('cluster.link.established', { link: links.get(id) });
  for (const id of held) emit('cluster.link.updated', { link: links.get(id) });
  return changed;
}

/** Moves one node; see transitionMany. Returns null when it did not change. */
export async function transition(
  tx: Queryable,
  emit: Emit,
  now: Date,
  nodeId: string,
  status: NodeStatus,
  options: TransitionOptions,
): Promise<NodeRecord | null> {
  const [changed] = await transitionMany(tx, emit, now, [{ id: nodeId, status }], options);
  return changed?.node ?? null;
}

export async function markStatus(
  ctx: RegistryContext,
  ref: string,
  status: NodeStatus,
): Promise<NodeRecord> {
  return ctx.change(async (tx, emit, now) => {
    const node = await requireNode(tx, ref, true);
    return (
      (await transition(tx, emit, now, node.id, status, { respectMaintenance: false })) ?? node
    );
  });
}

export async function setMaintenance(
  ctx: RegistryContext,
  ref: string,
  enabled: boolean,
): Promise<NodeRecord> {
  return ctx.change(async (tx, emit, now) => {
    const node = await requireNode(tx, ref, true);
    const updated = await store.setMaintenance(tx, node.id, enabled, now);
    if (!updated) return node;
    emit('cluster.node.status_changed', {
      node: await graphNodeOf(tx, node.id),
      from: node.status,
    });
    return updated;
  });
}

/**
 * Deregisters a node with everything that belongs to it. With `onlyIfOfflineSince`, the node is
 * deregistered only if it is still offline and has been since before that time, checked under
 * the row lock. Returns whether it was deregistered.
 */
export async function deregisterNode(
  ctx: RegistryContext,
  ref: string,
  options: { onlyIfOfflineSince?: Date } = {},
): Promise<boolean> {
  return ctx.change(async (tx, emit) => {
    const node = await requireNode(tx, ref, true);
    const cutoff = options.onlyIfOfflineSince;
    if (cutoff !== undefined) {
      const offlineSince = new Date(node.status_changed_at).getTime();
      if (node.status !== 'offline' || offlineSince > cutoff.getTime()) return false;
    }
    const links = await openLinkIds(tx, node.id);
    await store.deleteNode(tx, node.id);
    emit('cluster.node.deregistered', { node: { id: node.id, name: node.name }, links });
    return true;
  });
}

export async function getNode(ctx: RegistryContext, ref: string): Promise<NodeDetails> {
  const q = ctx.db;
  const node = await requireNode(q, ref);
  const since = new Date(ctx.clock.now().getTime() - summaryMinutes * 60_000);
  const [capabilities, groups, links, heartbeatSummary] = await Promise.all([
    listCapabilities(q, node.id),
    groupsOfNode(q, node.id),
    listLinks(q, { node_id: node.id, status: 'open', limit: ctx.settings.maxPageSize }),
    summarizeHeartbeats(q, node.id, since, summaryMinutes),
  ]);
  return { ...node, capabilities, groups, links, heartbeat_summary: heartbeatSummary };
}

export async function listNodes(ctx: RegistryContext, filter: NodeFilter): Promise<NodePage> {
  const limit = pageSize(ctx, filter.limit);
  if (filter.domain !== undefined) checkDomain('domain', filter.domain);
  if (filter.capability !== undefined) checkCapabilityKey('capability', filter.capability.key);
  const groupIds =
    filter.group === undefined
      ? undefined
      : await subtreeIds(ctx.db, (await requireGroup(ctx.db, filter.group)).id);
  const { group: _group, cursor: _cursor, ...columns } = filter;
  const rows = await store.listNodes(ctx.db, {
    ...columns,
    groupIds,
    afterName: filter.cursor === undefined ? undefined : decodeCursor(filter.cursor),
    limit: limit + 1,
  });
  const nodes = rows.slice(0, limit);
  const last = nodes[nodes.length - 1];
  return {
    nodes,
    next_cursor: rows.length > limit && last ? encodeCursor(last.name) : null,
  };
}

export function pageSize(ctx: RegistryContext, requested: number | undefined): number {
  const { defaultPageSize, maxPageSize } = ctx.settings;
  if (requested === undefined) return defaultPageSize;
  if (!Number.isInteger(requested) || requested < 1 || requested > maxPageSize) {
    throw invalid('limit', `must be a whole number from 1 to ${maxPageSize} (got ${requested})`);
  }
  return requested;
}

function encodeCursor(name: string): string {
  return Buffer.from(JSON.stringify({ after: name })).toString('base64url');
}

function decodeCursor(cursor: string): string {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    const after = (decoded as { after?: unknown } | null)?.after;
    if (typeof after === 'string' && unstorableReason(after) === undefined) return after;
  } catch (error) {
    throw new RegistryError('TL_ERR_VALIDATION', 'cursor is not a cursor that this API returned', {
      invalidParams: [
        { name: 'cursor', reason: 'use next_cursor from a previous page, or omit it' },
      ],
      cause: error,
    });
  }
  throw invalid('cursor', 'is not a cursor that this API returned; use next_cursor or omit it');
}
