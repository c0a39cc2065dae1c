// PostgreSQL cannot store the NUL character (U+0000), and a lone UTF-16 surrogate is not valid
// Unicode: text would silently turn it into U+FFFD and jsonb rejects it. Requests that carry
// either are rejected before they reach the registry, with the field named.
import type { FastifyRequest } from 'fastify';

import { invalid } from '../errors.js';
import { unstorableReason } from '../registry/validation.js';

/** Returns the path and reason of the first key or string in `value` that cannot be stored. */
export function findUnstorable(
  value: unknown,
  path: string,
): { path: string; reason: string } | undefined {
  if (typeof value === 'string') {
    const reason = unstorableReason(value);
    return reason === undefined ? undefined : { path, reason };
  }
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findUnstorable(item, `${path}[${index}]`);
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, item] of Object.entries(value)) {
    const child = path === '' ? key : `${path}.${key}`;
    const keyReason = unstorableReason(key);
    if (keyReason !== undefined) return { path: child, reason: `has a key that ${keyReason}` };
    const found = findUnstorable(item, child);
    if (found) return found;
  }
  return undefined;
}

/**
 * Rejects unstorable text in path parameters, the query string and the body. Routes whose config
 * sets `checksItemsAlone` check their body items themselves, so one bad item fails alone.
 */
export function rejectUnstorableText(request: FastifyRequest): void {
  const config = request.routeOptions.config as { checksItemsAlone?: boolean };
  const parts: unknown[] = [request.params, request.query];
  if (!config.checksItemsAlone) parts.push(request.body);
  for (const part of parts) {
    const found = findUnstorable(part, '');
    if (found) throw invalid(found.path || 'body', found.reason);
  }
}
