// Group operations: the group tree (create, update, delete, roots, children, whole tree) and
// its memberships.
import { isDeepStrictEqual } from 'node:util';

import { RegistryError } from '../errors.js';
import type { Queryable } from '../store/database.js';
import * as store from '../store/groups.js';
import { heldBy, setDisruptionHold } from '../store/liveness.js';
import type { RegistryContext } from './context.js';
import { graphNodeOf, requireGroup, requireNode } from './lookup.js';
import type { GroupRecord } from './model.js';
import { transitionMany } from './nodes.js';
import type {
  CreateGroupInput,
  GroupDetails,
  GroupFilter,
  GroupTreeNode,
  UpdateGroupInput,
} from './operations.js';
import { checkMeta, checkName } from './validation.js';

function checkGroupInput(ctx: RegistryContext, input: UpdateGroupInput): void {
  if (input.name !== undefined) checkName('name', input.name);
  if (input.meta !== undefined) checkMeta('meta', input.meta, ctx.settings.metaLimits);
}

async function resolveParent(tx: Queryable, ref: string | null | undefined) {
  if (ref === undefined || ref === null) return ref;
  const parent = await store.findGroup(tx, ref);
  if (!parent) {
    throw new RegistryError(
      'TL_ERR_GROUP_NOT_FOUND',
      `parent group ${JSON.stringify(ref)} not found`,
      {
        invalidParams: [
          { name: 'parent_group_id', reason: 'must be the id or name of an existing group' },
        ],
      },
    );
  }
  return parent.id;
}

function nameTaken(name: string): RegistryError {
  return new RegistryError('TL_ERR_GROUP_EXISTS', `a group named ${JSON.stringify(name)} exists`, {
    invalidParams: [{ name: 'name', reason: 'must be unique among groups' }],
  });
}

export async function createGroup(
  ctx: RegistryContext,
  input: CreateGroupInput,
): Promise<GroupRecord> {
  checkGroupInput(ctx, input);
  return ctx.change(async (tx, emit, now) => {
    await store.lockGroupTree(tx);
    const parentId = (await resolveParent(tx, input.parent_group_id)) ?? null;
    const group = await store.insertGroup(tx, { ...input, parent_group_id: parentId }, now);
    if (!group) throw nameTaken(input.name);
    emit('cluster.group.changed', { group, action: 'created' });
    return group;
  });
}

export async function updateGroup(
  ctx: RegistryContext,
  ref: string,
  patch: UpdateGroupInput,
): Promise<GroupRecord> {
  checkGroupInput(ctx, patch);
  return ctx.change(async (tx, emit, now) => {
    await store.lockGroupTree(tx);
    const group = await requireGroup(tx, ref);
    const parentId = await resolveParent(tx, patch.parent_group_id);
    if (parentId) {
      const below = await store.subtreeIds(tx, group.id);
      if (below.includes(parentId)) {
        throw new RegistryError(
          'TL_ERR_GROUP_CYCLE',
          `group ${group.name} cannot move under itself or one of its own descendants`,
          { invalidParams: [{ name: 'parent_group_id', reason: 'must not be in the subtree' }] },
        );
      }
    }
    if (patch.name !== undefined && patch.name !== group.name) {
      if (await store.findGroup(tx, patch.name)) throw nameTaken(patch.name);
    }
    const unchanged =
      (patch.name === undefined || patch.name === group.name) &&
      (patch.group_type === undefined || patch.group_type === group.group_type) &&
      (parentId === undefined || parentId === group.parent_group_id) &&
      (patch.meta === undefined || isDeepStrictEqual(patch.meta, group.meta));
    if (unchanged) return group;
    const updated = await store.updateGroup(
      tx,
      group.id,
      { ...patch, parent_group_id: parentId },
      now,
    );
    emit('cluster.group.changed', {
      group: updated,
      action: 'updated',
      member_count: await store.countMembers(tx, group.id),
    });
    return updated;
  });
}

export async function deleteGroup(ctx: RegistryContext, ref: string): Promise<void> {
  await ctx.change(async (tx, emit, now) => {
    await store.lockGroupTree(tx);
    const group = await requireGroup(tx, ref);
    const children = await store.countChildren(tx, group.id);
    if (children > 0) {
      throw new RegistryError(
        'TL_ERR_GROUP_HAS_CHILDREN',
        `group ${group.name} has ${children} child ${children === 1 ? 'group' : 'groups'}; delete or move them first`,
      );
    }
    const members = await store.countMembers(tx, group.id);
    // Members this group's disruption holds are released, as degraded, for liveness to judge.
    const held = await heldBy(tx, group.id);
    await setDisruptionHold(tx, held, null);
    await transitionMany(
      tx,
      emit,
      now,
      held.map((id) => ({ id, status: 'degraded' as const })),
      { respectMaintenance: true },
    );
    await store.deleteGroup(tx, group.id);
    emit('cluster.group.changed', { group, action: 'deleted', member_count: members });
  });
}

export async function getGroup(ctx: RegistryContext, ref: string): Promise<GroupDetails> {
  const group = await requireGroup(ctx.db, ref);
  const [children, members] = await Promise.all([
    store.listGroups(ctx.db, { parent: group.id }),
    store.listMembers(ctx.db, group.id),
  ]);
  return { ...group, children, members };
}

export async function listGroups(
  ctx: RegistryContext,
  filter: GroupFilter,
): Promise<GroupRecord[]> {
  const parent =
    filter.parent === undefined ? undefined : (await requireGroup(ctx.db, filter.parent)).id;
  return store.listGroups(ctx.db, { ...filter, parent });
}

/** Every group, nested under its parent; the roots are the groups without one. */
export async function groupTree(ctx: RegistryContext): Promise<GroupTreeNode[]> {
  const groups = await store.listGroups(ctx.db, {});
  const byId = new Map<string, GroupTreeNode>(
    groups.map((group) => [group.id, { ...group, children: [] }]),
  );
  const roots: GroupTreeNode[] = [];
  for (const node of byId.values()) {
    const parent = node.parent_group_id ? byId.get(node.parent_group_id) : undefined;
    if (parent) parent.children.push(node);
    else roots.push(node);
  }
  return roots;
}

export async function addMember(
  ctx: RegistryContext,
  groupRef: string,
  nodeRef: string,
): Promise<{ created: boolean }> {
  return ctx.change(async (tx, emit, now) => {
    const group = await requireGroup(tx, groupRef);
    const node = await requireNode(tx, nodeRef, true);
    const created = await store.addMember(tx, group.id, node.id, now);
    if (created) {
      emit('cluster.group.changed', {
        group,
        action: 'member_added',
        node: await graphNodeOf(tx, node.id),
      });
    }
    return { created };
  });
}

export async function removeMember(
  ctx: RegistryContext,
  groupRef: string,
  nodeRef: string,
): Promise<void> {
  await ctx.change(async (tx, emit) => {
    const group = await requireGroup(tx, groupRef);
    const node = await requireNode(tx, nodeRef, true);
    if (!(await store.removeMember(tx, group.id, node.id))) {
      throw new RegistryError(
        'TL_ERR_MEMBERSHIP_NOT_FOUND',
        `node ${node.name} is not a member of group ${group.name}`,
      );
    }
    emit('cluster.group.changed', {
      group,
      action: 'member_removed',
      node: await graphNodeOf(tx, node.id),
    });
  });
}
