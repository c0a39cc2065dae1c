// Retry delays for the agent: exponential back-off with full jitter, and the HTTP Retry-After
// header, which RFC 9110 (section 10.2.3) allows as delta seconds or as an HTTP date.

export interface BackoffPolicy {
  /** Delay ceiling of the first retry, in milliseconds. The ceiling doubles with each retry. */
  baseMs: number;
  /** Maximum delay ceiling, in milliseconds. */
  capMs: number;
  /** Maximum wait that a server's Retry-After can impose, in milliseconds. */
  maxRetryAfterMs: number;
  /** A uniform random number in [0, 1), as Math.random returns. */
  random: () => number;
}

export const defaultBackoffPolicy: BackoffPolicy = {
  baseMs: 500,
  capMs: 30_000,
  maxRetryAfterMs: 5 * 60_000,
  random: Math.random,
};

/**
 * Computes the delay before retry number `attempt` (0 for the first retry). Full jitter draws it
 * uniformly from [0, min(cap, base × 2^attempt)), so that many agents that failed together do not
 * retry together.
 */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy = defaultBackoffPolicy,
): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(policy.random() * ceiling);
}

/**
 * Computes the delay before a retry when the failed response may carry a Retry-After. The agent
 * waits at least what the server asked for, up to `maxRetryAfterMs`, so that a misconfigured
 * server cannot park it for hours.
 */
export function retryDelay(
  attempt: number,
  retryAfterMs: number | undefined,
  policy: BackoffPolicy = defaultBackoffPolicy,
): number {
  const jittered = backoffDelay(attempt, policy);
  if (retryAfterMs === undefined) return jittered;
  return Math.max(jittered, Math.min(retryAfterMs, policy.maxRetryAfterMs));
}

/**
 * Parses a Retry-After header value into milliseconds from `nowMs` (milliseconds since the epoch).
 * A date in the past gives 0. A missing or invalid value gives undefined, so the caller falls back
 * to its own back-off.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  nowMs: number,
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;

  const dateMs = parseHttpDate(trimmed, nowMs);
  if (dateMs === undefined) return undefined;
  return Math.max(0, dateMs - nowMs);
}

const weekdays = 'Mon|Tue|Wed|Thu|Fri|Sat|Sun';
const longWeekdays = 'Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday';
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const month = `(?<month>${months.join('|')})`;
const timeOfDay = '(?<hour>\\d{2}):(?<minute>\\d{2}):(?<second>\\d{2})';

// The three forms that RFC 9110 (section 5.6.7) requires recipients to accept, for example
// "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT" and "Sun Nov  6 08:49:37 1994".
const httpDateForms = [
  new RegExp(`^(?:${weekdays}), (?<day>\\d{2}) ${month} (?<year>\\d{4}) ${timeOfDay} GMT$`),
  new RegExp(`^(?:${longWeekdays}), (?<day>\\d{2})-${month}-(?<year>\\d{2}) ${timeOfDay} GMT$`),
  new RegExp(`^(?:${weekdays}) ${month} (?<day>[ \\d]\\d) ${timeOfDay} (?<year>\\d{4})$`),
];

/**
 * Parses an HTTP date into milliseconds since the epoch, or returns undefined when the value is
 * not one. `nowMs` resolves the two-digit year of the obsolete RFC 850 form. The weekday is not
 * checked, because the day, month and year alone fix the date.
 */
export function parseHttpDate(value: string, nowMs: number): number | undefined {
  for (const form of httpDateForms) {
    const fields = form.exec(value)?.groups;
    if (fields) return toUtcTime(fields, nowMs);
  }
  return undefined;
}

function toUtcTime(fields: Record<string, string | undefined>, nowMs: number): number | undefined {
  const monthIndex = months.indexOf(fields.month ?? '');
  const day = Number(fields.day?.trim());
  const hour = Number(fields.hour);
  const minute = Number(fields.minute);
  const second = Number(fields.second);
  if (monthIndex < 0 || hour > 23 || minute > 59 || second > 60) return undefined;

  let year = Number(fields.year);
  if (fields.year?.length === 2) year = expandTwoDigitYear(year, nowMs);

  // A leap second (60) is valid in an HTTP date, and counts as the last second of its minute.
  const timeMs = Date.UTC(year, monthIndex, day, hour, minute, Math.min(second, 59));
  // Date.UTC rolls an impossible day such as 31 Feb over into March, so such a date is rejected.
  if (new Date(timeMs).getUTCDate() !== day) return undefined;
  return timeMs;
}

/**
 * Expands the two-digit year of an RFC 850 date. RFC 9110 reads a year that looks more than 50
 * years in the future as the most recent past year with the same last two digits.
 */
function expandTwoDigitYear(shortYear: number, nowMs: number): number {
  const currentYear = new Date(nowMs).getUTCFullYear();
  const year = currentYear - (currentYear % 100) + shortYear;
  return year > currentYear + 50 ? year - 100 : year;
}
