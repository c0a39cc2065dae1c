// The JSON body parser. It rejects `__proto__` keys, and `constructor` keys containing a
// `prototype`, because they could change the prototype of objects built from the body. The error
// names the key instead of calling the JSON malformed.
import type { FastifyRequest } from 'fastify';

import { RegistryError } from '../errors.js';

function rejectPrototypeKeys(key: string, value: unknown): unknown {
  const poisoned =
    key === '__proto__' ||
    (key === 'constructor' && typeof value === 'object' && value !== null && 'prototype' in value);
  if (poisoned) {
    throw new RegistryError(
      'TL_ERR_VALIDATION',
      `the body has a ${key === '__proto__' ? '__proto__' : 'constructor.prototype'} key, which is not allowed; rename it`,
      { invalidParams: [{ name: key, reason: 'is a reserved key; rename it' }] },
    );
  }
  return value;
}

export function parseJsonBody(
  _request: FastifyRequest,
  body: string,
  done: (error: Error | null, value?: unknown) => void,
): void {
  if (body.length === 0) {
    done(new RegistryError('TL_ERR_MALFORMED_JSON', 'the body is empty; send a JSON object'));
    return;
  }
  try {
    done(null, JSON.parse(body, rejectPrototypeKeys));
  } catch (error) {
    if (error instanceof RegistryError) return done(error);
    done(
      new RegistryError(
        'TL_ERR_MALFORMED_JSON',
        `the body is not valid JSON: ${(error as Error).message}`,
      ),
    );
  }
}
