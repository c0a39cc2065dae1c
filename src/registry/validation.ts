// Checks that the registry applies to every input, whichever door it came through (HTTP, the
// demo, tests). The HTTP schemas check shapes first; these check the rules a schema cannot express.
import { RegistryError, invalid, type InvalidParam } from '../errors.js';
import { isUuid } from '../store/rows.js';
import type { Meta } from './model.js';

/** Letters, digits, `.`, `_`, `-` and `@`, starting with a letter or digit, 1 to 253 long. */
export const namePattern = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,252}$/;
export const domainPattern = /^[a-z][a-z0-9_-]{0,31}$/;
export const capabilityKeyPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export interface MetaLimits {
  maxKeys: number;
  maxKeyLength: number;
  maxStringLength: number;
  maxDepth: number;
}

export const defaultMetaLimits: MetaLimits = {
  maxKeys: 64,
  maxKeyLength: 128,
  maxStringLength: 512,
  maxDepth: 4,
};

/**
 * Why a string cannot be stored, or undefined when it can. PostgreSQL rejects the NUL character
 * (U+0000), and a lone UTF-16 surrogate is not valid Unicode: text would silently store U+FFFD
 * in its place and jsonb rejects it.
 */
export function unstorableReason(text: string): string | undefined {
  if (text.includes('\u0000')) return 'contains a NUL character (U+0000), which cannot be stored';
  if (!text.isWellFormed()) return 'contains a lone UTF-16 surrogate, which is not valid Unicode';
  return undefined;
}

export function checkName(field: string, name: string): void {
  if (!namePattern.test(name)) {
    throw invalid(
      field,
      `must be 1-253 letters, digits, '.', '_', '-' or '@', starting with a letter or digit (got ${JSON.stringify(name.slice(0, 80))})`,
    );
  }
  if (isUuid(name)) {
    throw invalid(field, 'must not be shaped like a UUID, because ids and names share routes');
  }
}

export function checkDomain(field: string, domain: string): void {
  if (!domainPattern.test(domain)) {
    throw invalid(
      field,
      `must be a short lowercase word: a-z first, then up to 31 of a-z, 0-9, '_', '-' (got ${JSON.stringify(domain.slice(0, 80))})`,
    );
  }
}

export function checkCapabilityKey(field: string, key: string): void {
  if (!capabilityKeyPattern.test(key)) {
    throw invalid(
      field,
      `must be 1-128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit (got ${JSON.stringify(key.slice(0, 80))})`,
    );
  }
}

/**
 * Checks a meta object against the size limits: key count per object, key length, string length
 * and nesting depth. Every violation is reported, each with its JSON path.
 */
export function checkMeta(field: string, meta: Meta, limits: MetaLimits = defaultMetaLimits): void {
  const problems: InvalidParam[] = [];
  visitMeta(field, meta, 1, limits, problems);
  if (problems.length > 0) {
    const first = problems[0]!;
    throw new RegistryError('TL_ERR_VALIDATION', `${first.name} ${first.reason}`, {
      invalidParams: problems.slice(0, 20),
    });
  }
}

function visitMeta(
  path: string,
  value: unknown,
  depth: number,
  limits: MetaLimits,
  problems: InvalidParam[],
): void {
  if (typeof value === 'string') {
    const unstorable = unstorableReason(value);
    if (unstorable !== undefined) problems.push({ name: path, reason: unstorable });
    if (value.length > limits.maxStringLength) {
      problems.push({
        name: path,
        reason: `must be at most ${limits.maxStringLength} characters (got ${value.length})`,
      });
    }
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  if (depth > limits.maxDepth) {
    problems.push({ name: path, reason: `nests deeper than ${limits.maxDepth} levels` });
    return;
  }
  if (Array.isArray(value)) {
    if (value.length > limits.maxKeys) {
      problems.push({
        name: path,
        reason: `must have at most ${limits.maxKeys} items (got ${value.length})`,
      });
    }
    value.forEach((item, index) =>
      visitMeta(`${path}[${index}]`, item, depth + 1, limits, problems),
    );
    return;
  }
  const keys = Object.keys(value);
  if (keys.length > limits.maxKeys) {
    problems.push({
      name: path,
      reason: `must have at most ${limits.maxKeys} keys (got ${keys.length})`,
    });
  }
  for (const key of keys) {
    const unstorable = unstorableReason(key);
    if (unstorable !== undefined)
      problems.push({ name: path, reason: `has a key that ${unstorable}` });
    if (key.length > limits.maxKeyLength) {
      problems.push({
        name: `${path}.${key.slice(0, 40)}…`,
        reason: `key must be at most ${limits.maxKeyLength} characters (got ${key.length})`,
      });
    }
    visitMeta(`${path}.${key}`, (value as Meta)[key], depth + 1, limits, problems);
  }
}

export function checkFiniteRange(
  field: string,
  value: number | null | undefined,
  minimum: number,
  maximum: number,
): void {
  if (value === null || value === undefined) return;
  if (!Number.isFinite(value) || value < minimum || value > maximum) {
    throw invalid(field, `must be a number from ${minimum} to ${maximum} (got ${value})`);
  }
}
