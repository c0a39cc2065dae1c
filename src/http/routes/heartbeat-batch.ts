// Checks the items of POST /heartbeats one by one, so that an invalid item fails in its own
// result while the valid items are still recorded.
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';

import type { HeartbeatInput, HeartbeatResult } from '../../registry/operations.js';
import type { Registry } from '../../registry/registry.js';
import { findUnstorable } from '../unstorable.js';
import { invalidParamsFromAjv } from '../problem.js';
import { HeartbeatBatchEnvelope, HeartbeatItem } from '../schemas.js';

const ajv = addFormats.default(new Ajv({ allErrors: true, strict: false, coerceTypes: false }));
const checkItem = ajv.compile(HeartbeatItem);
/** The request-level check: an object with at most 1,000 items and nothing else. */
export const checkEnvelope = ajv.compile(HeartbeatBatchEnvelope);

type Item = HeartbeatInput & { node_id: string };

export async function recordBatch(
  registry: Registry,
  items: unknown[],
): Promise<HeartbeatResult[]> {
  const results: HeartbeatResult[] = [];
  const valid: { index: number; item: Item }[] = [];
  items.forEach((item, index) => {
    const nodeId =
      typeof item === 'object' && item !== null && typeof (item as Item).node_id === 'string'
        ? (item as Item).node_id
        : '';
    results.push({ node_id: nodeId, ok: false });
    const prefix = `heartbeats[${index}]`;
    if (!checkItem(item)) {
      const first = invalidParamsFromAjv(prefix, checkItem.errors ?? [])[0];
      results[index] = {
        node_id: nodeId,
        ok: false,
        code: 'TL_ERR_VALIDATION',
        detail: first ? `${prefixed(prefix, first.name)} ${first.reason}` : `${prefix} is invalid`,
      };
      return;
    }
    const unstorable = findUnstorable(item, prefix);
    if (unstorable) {
      results[index] = {
        node_id: nodeId,
        ok: false,
        code: 'TL_ERR_VALIDATION',
        detail: `${unstorable.path} ${unstorable.reason}`,
      };
      return;
    }
    valid.push({ index, item: item as Item });
  });

  const recorded = await registry.heartbeats(valid.map((entry) => entry.item));
  valid.forEach((entry, position) => {
    const result = recorded[position]!;
    results[entry.index] = {
      ...result,
      detail: result.detail?.replace(/^heartbeats\[\d+\]/, `heartbeats[${entry.index}]`),
    };
    if (result.detail === undefined) delete results[entry.index]!.detail;
  });
  return results;
}

function prefixed(prefix: string, name: string): string {
  if (name === prefix || name.startsWith(`${prefix}.`) || name.startsWith(`${prefix}[`)) {
    return name;
  }
  return `${prefix}.${name}`;
}
