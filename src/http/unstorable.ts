// PostgreSQL cannot store the NUL character (U+0000) in text or jsonb, so requests that carry one
// are rejected before they reach the registry, with the field named.
import type { FastifyRequest } from 'fastify';

import { invalid } from '../errors.js';

/** Returns the path of the first key or string in `value` that contains NUL, or undefined. */
export function findNul(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findNul(item, `${path}[${index}]`);
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, item] of Object.entries(value)) {
    const child = path === '' ? key : `${path}.${key}`;
    if (key.includes('\u0000')) return child;
    const found = findNul(item, child);
    if (found) return found;
  }
  return undefined;
}

/**
 * Rejects NUL characters in path parameters, the query string and the body. Routes whose
 * config sets `checksItemsAlone` check their body items themselves, so one bad item fails alone.
 */
export function rejectNulCharacters(request: FastifyRequest): void {
  const config = request.routeOptions.config as { checksItemsAlone?: boolean };
  const parts: [string, unknown][] = [
    ['', request.params],
    ['', request.query],
  ];
  if (!config.checksItemsAlone) parts.push(['', request.body]);
  for (const [prefix, value] of parts) {
    const field = findNul(value, prefix);
    if (field !== undefined) {
      throw invalid(field || 'body', 'contains a NUL character (U+0000), which cannot be stored');
    }
  }
}
