// The agent's HTTP exchange with a registry server: builds each request under the API prefix,
// applies its timeout, reads the whole response and picks the fields out of problem+json errors.
import type { InvalidParam } from '../errors.js';
import { parseHttpDate, parseRetryAfter } from './backoff.js';

const apiPrefix = '/api/thunderlink';

export interface RegistryClientOptions {
  /** The registry server's base URL without the API prefix, such as `http://127.0.0.1:4000`. */
  serverUrl: string;
  /** API token, sent as `Authorization: Bearer …`. */
  token?: string | undefined;
  fetch: typeof fetch;
  /** A monotonic clock in milliseconds, for round trips. */
  now: () => number;
  /** Milliseconds since the epoch, for a Retry-After date in a response without a Date header. */
  wallClock: () => number;
}

export interface ExchangeOptions {
  /** Time allowed for the whole exchange, including reading the body, in milliseconds. */
  timeoutMs: number;
  /** Aborts the exchange early, such as when the agent stops. */
  signal?: AbortSignal | undefined;
}

/** An HTTP error response from the registry, with the fields of its problem+json body. */
export class RegistryResponseError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  readonly detail: string | undefined;
  readonly invalidParams: InvalidParam[] | undefined;

  constructor(request: string, status: number, body: unknown) {
    const problem = asProblem(body);
    const code = problem.code ? ` ${problem.code}` : '';
    super(
      `${request} returned ${status}${code}: ${problem.detail ?? problem.title ?? 'no detail'}`,
    );
    this.name = 'RegistryResponseError';
    this.status = status;
    this.code = problem.code;
    this.detail = problem.detail;
    this.invalidParams = problem.invalid_params;
  }
}

export interface Problem {
  title?: string | undefined;
  detail?: string | undefined;
  code?: string | undefined;
  invalid_params?: InvalidParam[] | undefined;
}

export interface Reply {
  /** Method and path of the request, such as `POST /nodes`, for messages. */
  request: string;
  status: number;
  body: unknown;
  retryAfterMs: number | undefined;
  roundTripMs: number;
}

/** Sends single requests to one registry server. Retrying is left to the caller. */
export class RegistryClient {
  private readonly options: RegistryClientOptions;
  private readonly apiUrl: string;

  /** Throws a TypeError when the server URL is not an http(s) URL or contains credentials. */
  constructor(options: RegistryClientOptions) {
    this.options = options;
    this.apiUrl = apiUrlOf(options.serverUrl);
  }

  /**
   * Sends one request and reads the whole response. Rejects on network errors, and when the
   * timeout passes or the signal aborts before the body is read.
   */
  async exchange(
    method: string,
    path: string,
    body: object | undefined,
    { timeoutMs, signal }: ExchangeOptions,
  ): Promise<Reply> {
    const request = `${method} ${path}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;

    const timeout = AbortSignal.timeout(timeoutMs);
    const started = this.options.now();
    let response: Response;
    let text: string;
    try {
      const init = {
        method,
        headers,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        body: body && JSON.stringify(body),
      };
      response = await this.options.fetch(this.apiUrl + path, init);
      text = await response.text();
    } catch (error) {
      throw new Error(`${request} failed: ${describeNetworkError(error)}`, { cause: error });
    }
    const roundTripMs = this.options.now() - started;

    // A Retry-After date is measured from the response's Date header where there is one, so that
    // a skew between this machine's clock and the server's does not change the wait.
    const wallNow = this.options.wallClock();
    const dateMs = parseHttpDate(response.headers.get('date') ?? '', wallNow) ?? wallNow;
    return {
      request,
      status: response.status,
      body: parseJson(text),
      retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), dateMs),
      roundTripMs,
    };
  }
}

function describeNetworkError(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'the request timed out';
  const cause = error instanceof Error ? (error.cause as { message?: unknown } | undefined) : {};
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}

export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/** Returns whether a response status is worth retrying: a request timeout, a rate limit or a 5xx. */
export function isTransient(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * Returns whether a 404 came from the router, which means that the server lacks the route rather
 * than the resource.
 */
export function isRouteMissing(reply: Reply): boolean {
  return asProblem(reply.body).code === 'TL_ERR_ROUTE_NOT_FOUND';
}

/** Picks the problem+json fields out of a response body, ignoring any of the wrong type. */
export function asProblem(body: unknown): Problem {
  if (typeof body !== 'object' || body === null) return {};
  const fields = body as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const params = Array.isArray(fields.invalid_params) ? fields.invalid_params : undefined;
  return {
    title: text(fields.title),
    detail: text(fields.detail),
    code: text(fields.code),
    invalid_params: params as InvalidParam[] | undefined,
  };
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

function apiUrlOf(serverUrl: string): string {
  const url = URL.canParse(serverUrl) ? new URL(serverUrl) : undefined;
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new TypeError(`invalid server URL "${serverUrl}": use http(s)://host:port`);
  }
  if (url.username || url.password) {
    throw new TypeError('the server URL must not contain credentials: pass a token instead');
  }
  return url.origin + url.pathname.replace(/\/+$/, '') + apiPrefix;
}
