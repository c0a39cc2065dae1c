import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  defaultBackoffPolicy,
  parseHttpDate,
  parseRetryAfter,
  retryDelay,
  type BackoffPolicy,
} from './backoff.js';

function policy(random: number, overrides: Partial<BackoffPolicy> = {}): BackoffPolicy {
  return { ...defaultBackoffPolicy, random: () => random, ...overrides };
}

// A draw just below 1, because Math.random returns values in [0, 1).
const almostOne = 1 - Number.EPSILON;

describe('backoffDelay', () => {
  it('doubles the ceiling per attempt', () => {
    expect(backoffDelay(0, policy(almostOne))).toBe(499);
    expect(backoffDelay(1, policy(almostOne))).toBe(999);
    expect(backoffDelay(2, policy(almostOne))).toBe(1999);
    expect(backoffDelay(5, policy(almostOne))).toBe(15999);
  });

  it('stops growing at the cap', () => {
    expect(backoffDelay(6, policy(almostOne))).toBe(29999);
    expect(backoffDelay(60, policy(almostOne))).toBe(29999);
    expect(backoffDelay(5000, policy(almostOne))).toBe(29999);
  });

  it('scales the ceiling by the random draw', () => {
    expect(backoffDelay(3, policy(0))).toBe(0);
    expect(backoffDelay(3, policy(0.5))).toBe(2000);
    expect(backoffDelay(3, policy(0.25))).toBe(1000);
  });

  it('stays within bounds for many draws', () => {
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const ceiling = Math.min(30_000, 500 * 2 ** attempt);
      for (const random of [0, 0.1, 0.5, 0.9, almostOne]) {
        const delay = backoffDelay(attempt, policy(random));
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(ceiling);
      }
    }
  });

  it('takes base and cap from the policy', () => {
    const custom = policy(almostOne, { baseMs: 10, capMs: 100 });
    expect(backoffDelay(0, custom)).toBe(9);
    expect(backoffDelay(3, custom)).toBe(79);
    expect(backoffDelay(4, custom)).toBe(99);
  });

  it('treats a negative attempt as the first', () => {
    expect(backoffDelay(-3, policy(almostOne))).toBe(499);
  });
});

describe('retryDelay', () => {
  it('uses the back-off without Retry-After', () => {
    expect(retryDelay(2, undefined, policy(0.5))).toBe(1000);
  });

  it('waits at least the Retry-After', () => {
    expect(retryDelay(0, 1000, policy(0.5))).toBe(1000);
    expect(retryDelay(0, 0, policy(0.5))).toBe(250);
  });

  it('keeps a longer back-off than Retry-After', () => {
    expect(retryDelay(5, 1000, policy(0.5))).toBe(8000);
  });

  it('caps Retry-After at five minutes', () => {
    expect(retryDelay(0, 24 * 3_600_000, policy(0))).toBe(300_000);
  });

  it('takes the Retry-After cap from the policy', () => {
    expect(retryDelay(0, 60_000, policy(0, { maxRetryAfterMs: 10_000 }))).toBe(10_000);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);

  it('reads delta seconds', () => {
    expect(parseRetryAfter('1', now)).toBe(1000);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 7 ', now)).toBe(7000);
  });

  it('reads an IMF-fixdate', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 12:00:30 GMT', now)).toBe(30_000);
  });

  it('reads the obsolete date forms', () => {
    expect(parseRetryAfter('Thursday, 01-Jan-26 12:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Thu Jan  1 12:00:05 2026', now)).toBe(5000);
  });

  it('gives zero for a past date', () => {
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:59 GMT', now)).toBe(0);
  });

  it('returns undefined without a value', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
  });

  it.each([
    ['negative seconds', '-5'],
    ['fractional seconds', '1.5'],
    ['seconds with a unit', '10s'],
    ['a word', 'soon'],
    ['an ISO 8601 date', '2026-01-01T12:00:30Z'],
    ['a date without GMT', 'Thu, 01 Jan 2026 12:00:30'],
    ['a lowercase month', 'Thu, 01 jan 2026 12:00:30 GMT'],
    ['an impossible day', 'Sat, 31 Feb 2026 12:00:30 GMT'],
    ['an impossible hour', 'Thu, 01 Jan 2026 25:00:30 GMT'],
    ['an impossible minute', 'Thu, 01 Jan 2026 12:60:30 GMT'],
    ['a zero day', 'Thu, 00 Jan 2026 12:00:30 GMT'],
  ])('returns undefined for %s', (_case, value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });
});

describe('parseHttpDate', () => {
  const now = Date.UTC(2026, 5, 1);

  it('reads the RFC 9110 example in all forms', () => {
    const expected = Date.UTC(1994, 10, 6, 8, 49, 37);
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT', now)).toBe(expected);
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', now)).toBe(expected);
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994', now)).toBe(expected);
  });

  it('puts two-digit years within 50 years ahead', () => {
    expect(parseHttpDate('Monday, 01-Jan-76 00:00:00 GMT', now)).toBe(Date.UTC(2076, 0, 1));
    expect(parseHttpDate('Monday, 01-Jan-77 00:00:00 GMT', now)).toBe(Date.UTC(1977, 0, 1));
  });

  it('accepts a leap second', () => {
    expect(parseHttpDate('Sat, 31 Dec 2016 23:59:60 GMT', now)).toBe(
      Date.UTC(2016, 11, 31, 23, 59, 59),
    );
  });
});
