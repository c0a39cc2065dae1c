// Capability operations: set (create, update, enable, disable), delete, and find nodes by one.
import { isDeepStrictEqual } from 'node:util';

import { invalid, notFound } from '../errors.js';
import * as store from '../store/capabilities.js';
import type { RegistryContext } from './context.js';
import { graphNodeOf, requireNode } from './lookup.js';
import type { CapabilityRecord, NodeRecord } from './model.js';
import type { CapabilityInput } from './operations.js';
import { checkCapabilityKey, checkMeta } from './validation.js';

export async function setCapability(
  ctx: RegistryContext,
  ref: string,
  key: string,
  input: CapabilityInput,
): Promise<{ capability: CapabilityRecord; created: boolean }> {
  checkCapabilityKey('key', key);
  if (typeof input.value === 'string' && input.value.length > 512) {
    throw invalid('value', `must be at most 512 characters (got ${input.value.length})`);
  }
  if (input.meta !== undefined) checkMeta('meta', input.meta, ctx.settings.metaLimits);

  return ctx.change(async (tx, emit, now) => {
    const node = await requireNode(tx, ref, true);
    const before = await store.findCapability(tx, node.id, key);
    const capability = await store.upsertCapability(tx, node.id, key, input, now);
    const changed =
      !before ||
      before.capability_value !== capability.capability_value ||
      before.enabled !== capability.enabled ||
      !isDeepStrictEqual(before.meta, capability.meta);
    if (changed) {
      emit('cluster.capability.changed', {
        node: await graphNodeOf(tx, node.id),
        capability,
        action: 'set',
      });
    }
    return { capability, created: !before };
  });
}

export async function deleteCapability(
  ctx: RegistryContext,
  ref: string,
  key: string,
): Promise<void> {
  await ctx.change(async (tx, emit) => {
    const node = await requireNode(tx, ref, true);
    const capability = await store.deleteCapability(tx, node.id, key);
    if (!capability) {
      throw notFound(
        'TL_ERR_CAPABILITY_NOT_FOUND',
        `node ${node.name} has no capability ${JSON.stringify(key)}`,
      );
    }
    emit('cluster.capability.changed', {
      node: await graphNodeOf(tx, node.id),
      capability,
      action: 'deleted',
    });
  });
}

export async function findNodesByCapability(
  ctx: RegistryContext,
  key: string,
  value: string | undefined,
): Promise<(NodeRecord & { capability_value: string | null })[]> {
  checkCapabilityKey('key', key);
  return store.nodesWithCapability(ctx.db, key, value, ctx.settings.maxPageSize);
}
