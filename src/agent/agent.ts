// The agent behind `thunderlink agent`: it registers this machine with a registry server over
// HTTP, heartbeats the machine's metrics at a fixed cadence and marks its node disconnected when
// it stops.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import os from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type { InvalidParam } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import type { NodeRecord, NodeRole } from '../registry/model.js';
import { backoffDelay, defaultBackoffPolicy, retryDelay, type BackoffPolicy } from './backoff.js';
import {
  asProblem,
  isRouteMissing,
  isSuccess,
  isTransient,
  RegistryClient,
  RegistryResponseError,
  type Reply,
} from './client.js';
import { FailureLog } from './failure-log.js';
import { readMachineMetrics, type MachineMetrics } from './metrics.js';

export { RegistryResponseError };

export interface AgentOptions {
  /** The registry server's base URL without the API prefix, such as `http://127.0.0.1:4000`. */
  serverUrl: string;
  /** The node's name. Defaults to the host name. */
  name?: string;
  /** The node's role. When absent, the registry keeps the stored role or applies its default. */
  role?: NodeRole;
  /** Heartbeat interval in milliseconds, from 100 to 3,600,000. Defaults to 5000. */
  intervalMs?: number;
  /** Names of the nodes to link this node to. */
  links?: readonly string[];
  /** Capabilities to advertise, as key → value. */
  capabilities?: Readonly<Record<string, string>>;
  /** Names of the groups to join. The agent creates missing groups. */
  groups?: readonly string[];
  /** API token, sent as `Authorization: Bearer …` and never logged. */
  token?: string;
  logger?: Logger;
  /** Identifier of this agent process, sent with registration and heartbeats. */
  instanceId?: string;
  /** Timeout of each request in milliseconds. Defaults to 10,000. */
  requestTimeoutMs?: number;
  /** Timeout of the one disconnect request that stop() sends, in milliseconds. Defaults to 2000. */
  stopTimeoutMs?: number;
  /** Period between retries of links whose remote node was not found, in ms. Defaults to 30,000. */
  linkRetryMs?: number;
  /** Back-off ceilings in milliseconds, see BackoffPolicy. */
  backoff?: Partial<Omit<BackoffPolicy, 'random'>>;
  /** A uniform random number in [0, 1) for back-off jitter. Defaults to Math.random. */
  random?: () => number;
  fetch?: typeof fetch;
  /** Waits `ms` milliseconds, and resolves or rejects early when `signal` aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** A monotonic clock in milliseconds for the cadence and round trips. Defaults to performance.now. */
  now?: () => number;
  /** Milliseconds since the epoch, for a Retry-After date in a response without a Date header. */
  wallClock?: () => number;
  readMetrics?: () => Promise<MachineMetrics>;
}

/** A heartbeat that the registry accepted. */
export interface HeartbeatSent extends MachineMetrics {
  node_id: string;
  /** The round trip of the previous accepted heartbeat, as sent. Absent on the first one. */
  latency_ms?: number;
  /** The round trip of this heartbeat, in milliseconds. */
  round_trip_ms: number;
}

/** A failed request that the agent will send again after `delay_ms`. */
export interface RetryScheduled {
  operation: string;
  attempt: number;
  delay_ms: number;
  error: Error;
}

export interface AgentEvents {
  registered: [node: NodeRecord, created: boolean];
  heartbeat: [heartbeat: HeartbeatSent];
  retry: [retry: RetryScheduled];
  /** Emitted only when a listener is attached, because start() rejects with the same error. */
  error: [error: AgentFatalError];
  stopped: [];
}

/** A failure that retrying cannot fix, such as a rejected registration. The agent stops on it. */
export class AgentFatalError extends Error {
  readonly operation: string;
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly invalidParams: InvalidParam[] | undefined;

  constructor(operation: string, message: string, cause?: unknown) {
    super(message, { cause });
    const response = cause instanceof RegistryResponseError ? cause : undefined;
    this.name = 'AgentFatalError';
    this.operation = operation;
    this.status = response?.status;
    this.code = response?.code;
    this.invalidParams = response?.invalidParams;
  }
}

/** Thrown inside the loop when stop() aborts it. */
class AgentStopped extends Error {}

/** Thrown when the node or one of its groups disappeared in the middle of registration. */
class RegistrationLost extends Error {}

type RequestBody = object | (() => Promise<object>);

/**
 * Registers this machine as a node and heartbeats its metrics until stop(). start() returns a
 * promise of the whole run: it resolves once stop() has finished and rejects with an
 * AgentFatalError when the registry rejects the agent's requests for good.
 */
export class Agent extends EventEmitter<AgentEvents> {
  readonly name: string;
  readonly instanceId: string;
  private readonly options: AgentOptions;
  private readonly client: RegistryClient;
  private readonly intervalMs: number;
  private readonly linkRetryMs: number;
  private readonly backoff: BackoffPolicy;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private readonly now: () => number;
  private readonly readMetrics: () => Promise<MachineMetrics>;
  private readonly failures: FailureLog;
  private readonly abort = new AbortController();
  private readonly baseLog: Logger;
  private log: Logger;
  private currentNodeId: string | undefined;
  private latencyMs: number | undefined;
  private pendingLinks = new Set<string>();
  private readonly reportedLinks = new Set<string>();
  private loop: Promise<never> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(options: AgentOptions) {
    super();
    this.options = options;
    this.now = options.now ?? (() => performance.now());
    this.client = new RegistryClient({
      serverUrl: options.serverUrl,
      token: options.token,
      fetch: options.fetch ?? ((input, init) => fetch(input, init)),
      now: this.now,
      wallClock: options.wallClock ?? Date.now,
    });
    this.name = options.name ?? os.hostname();
    this.instanceId = options.instanceId ?? randomUUID();
    this.intervalMs = checkInterval(options.intervalMs ?? 5000);
    this.linkRetryMs = options.linkRetryMs ?? 30_000;
    this.backoff = {
      ...defaultBackoffPolicy,
      ...options.backoff,
      random: options.random ?? Math.random,
    };
    this.sleep = options.sleep ?? sleepUntilAborted;
    this.readMetrics = options.readMetrics ?? (() => readMachineMetrics());
    this.baseLog = (options.logger ?? silentLogger()).child({ node: this.name });
    this.log = this.baseLog;
    this.failures = new FailureLog(() => this.log);
  }

  /** The id of the registered node, or undefined before the first registration. */
  get nodeId(): string | undefined {
    return this.currentNodeId;
  }

  /** Runs the agent until stop(). An agent runs once: create a new one to start again. */
  async start(): Promise<void> {
    if (this.loop || this.abort.signal.aborted) {
      throw new Error(
        'this agent was already started or stopped. Create a new Agent to start again.',
      );
    }
    this.log.info(
      {
        server: this.options.serverUrl,
        interval_ms: this.intervalMs,
        instance_id: this.instanceId,
      },
      'agent starting',
    );
    this.loop = this.run();
    try {
      await this.loop;
    } catch (error) {
      if (!(error instanceof AgentStopped)) throw this.reportFatal(error);
    }
    await this.stopping;
  }

  /** Stops the loop, marks the node disconnected with one short request, and resolves. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.abort.abort();
    const failed = await this.loop?.catch((error) => !(error instanceof AgentStopped));
    const nodeId = this.currentNodeId;
    if (nodeId !== undefined && failed !== true) await this.markDisconnected(nodeId);
    this.log.info({}, 'agent stopped');
    this.emit('stopped');
  }

  private reportFatal(error: unknown): AgentFatalError {
    const fatal =
      error instanceof AgentFatalError
        ? error
        : new AgentFatalError('run', `the agent failed: ${String(error)}`, error);
    this.abort.abort();
    this.log.error(
      {
        err: fatal,
        operation: fatal.operation,
        status: fatal.status,
        code: fatal.code,
        invalid_params: fatal.invalidParams,
      },
      'agent stopped on a fatal error',
    );
    if (this.listenerCount('error') > 0) this.emit('error', fatal);
    return fatal;
  }

  /** Registers, heartbeats until the registry returns 404 for the node, and registers again. */
  private async run(): Promise<never> {
    // The number of registrations in a row that were lost before a heartbeat got through.
    let losses = 0;
    for (;;) {
      try {
        const node = await this.register();
        const accepted = await this.heartbeatWhileRegistered(node.id);
        losses = accepted > 0 ? 0 : losses + 1;
        this.log.warn({}, 'node not found on heartbeat, registering again');
      } catch (error) {
        if (!(error instanceof RegistrationLost)) throw error;
        losses += 1;
        this.log.warn({ err: error }, 'registration lost, registering again');
      }
      // A registry that keeps losing the node must not turn the agent into a busy loop.
      if (losses > 0) await this.pause(backoffDelay(losses - 1, this.backoff));
    }
  }

  /** Registers the node, then sets its capabilities, groups and links, and marks it online. */
  private async register(): Promise<NodeRecord> {
    const { node, created } = await this.registerNode();
    this.currentNodeId = node.id;
    this.log = this.baseLog.child({ node_id: node.id });

    for (const [key, value] of Object.entries(this.options.capabilities ?? {})) {
      const path = `/nodes/${node.id}/capabilities/${encodeURIComponent(key)}`;
      const reply = await this.send(`set capability ${key}`, 'PUT', path, { value });
      this.requireSuccess(`set capability ${key}`, reply);
    }
    for (const group of this.options.groups ?? []) await this.joinGroup(node.id, group);

    this.pendingLinks = new Set(this.options.links ?? []);
    const linked = await this.linkPendingNodes(node.id);
    if (linked === 0) {
      const reply = await this.send('mark online', 'POST', `/nodes/${node.id}/online`, {});
      this.requireSuccess('mark online', reply);
    }

    this.log.info({ created, pending_links: [...this.pendingLinks] }, 'node registered');
    this.emit('registered', node, created);
    return node;
  }

  private async registerNode(): Promise<{ node: NodeRecord; created: boolean }> {
    const body = {
      name: this.name,
      ...(this.options.role === undefined ? {} : { role: this.options.role }),
      heartbeat_interval_ms: this.intervalMs,
      instance_id: this.instanceId,
    };
    const reply = await this.send('register node', 'POST', '/nodes', body);
    if (!isSuccess(reply.status)) throw this.fatal('register node', reply);

    const node = reply.body as Partial<NodeRecord> | undefined;
    if (typeof node?.id !== 'string') {
      throw new AgentFatalError(
        'register node',
        `the server at ${this.options.serverUrl} returned no node record. Check that the ` +
          'server URL points at a Thunderlink registry.',
      );
    }
    return { node: node as NodeRecord, created: reply.status === 201 };
  }

  private async joinGroup(nodeId: string, group: string): Promise<void> {
    const created = await this.send(`create group ${group}`, 'POST', '/groups', { name: group });
    if (!(created.status === 409 && asProblem(created.body).code === 'TL_ERR_GROUP_EXISTS')) {
      this.requireSuccess(`create group ${group}`, created);
    }
    const path = `/groups/${encodeURIComponent(group)}/members/${nodeId}`;
    const joined = await this.send(`join group ${group}`, 'PUT', path);
    this.requireSuccess(`join group ${group}`, joined);
  }

  /**
   * Links the node to each remote node still pending and returns how many links succeeded. A
   * remote node that the registry does not know yet stays pending and is logged once.
   */
  private async linkPendingNodes(nodeId: string): Promise<number> {
    let linked = 0;
    for (const remote of [...this.pendingLinks]) {
      const operation = `link to ${remote}`;
      const reply = await this.send(operation, 'POST', `/nodes/${nodeId}/online`, {
        remote_node_id: remote,
      });
      if (isSuccess(reply.status)) {
        linked += 1;
        this.pendingLinks.delete(remote);
        if (this.reportedLinks.delete(remote)) {
          this.log.info({ remote_node: remote }, 'link established');
        }
      } else if (reply.status === 404 && !isRouteMissing(reply)) {
        if (!this.reportedLinks.has(remote)) {
          const err = new RegistryResponseError(reply.request, 404, reply.body);
          this.log.warn({ remote_node: remote, err }, 'remote node not found, will retry the link');
          this.reportedLinks.add(remote);
        }
      } else {
        throw this.fatal(operation, reply);
      }
    }
    return linked;
  }

  /**
   * Heartbeats at a fixed cadence until the registry returns 404 for the node, and returns the
   * number of heartbeats accepted. Slots missed during a long retry are skipped, not made up.
   */
  private async heartbeatWhileRegistered(nodeId: string): Promise<number> {
    let accepted = 0;
    let due = this.now();
    let linkRetryDue = due + this.linkRetryMs;
    for (;;) {
      await this.pause(due - this.now());
      if (!(await this.heartbeat(nodeId))) return accepted;
      accepted += 1;

      if (this.pendingLinks.size > 0 && this.now() >= linkRetryDue) {
        await this.linkPendingNodes(nodeId);
        linkRetryDue = this.now() + this.linkRetryMs;
      }
      due = nextSlot(due, this.now(), this.intervalMs);
    }
  }

  /** Sends one heartbeat, with retries. Returns false when the registry returns 404 for the node. */
  private async heartbeat(nodeId: string): Promise<boolean> {
    let sent: HeartbeatSent | undefined;
    const body = async (): Promise<object> => {
      const metrics = await this.readMetrics();
      const latency = this.latencyMs === undefined ? {} : { latency_ms: this.latencyMs };
      sent = { node_id: nodeId, ...metrics, ...latency, round_trip_ms: 0 };
      return { status: 'online', ...metrics, ...latency, instance_id: this.instanceId };
    };
    const path = `/nodes/${nodeId}/heartbeat`;
    const reply = await this.send('heartbeat', 'POST', path, body);

    if (reply.status === 404 && !isRouteMissing(reply)) return false;
    if (!isSuccess(reply.status) || sent === undefined) throw this.fatal('heartbeat', reply);
    this.latencyMs = Math.round(reply.roundTripMs * 100) / 100;
    this.log.debug({ round_trip_ms: this.latencyMs }, 'heartbeat accepted');
    this.emit('heartbeat', { ...sent, round_trip_ms: this.latencyMs });
    return true;
  }

  private async markDisconnected(nodeId: string): Promise<void> {
    const timeoutMs = this.options.stopTimeoutMs ?? 2000;
    const path = `/nodes/${nodeId}/status`;
    const body = { status: 'disconnected' };
    try {
      const reply = await this.client.exchange('PUT', path, body, { timeoutMs });
      if (isSuccess(reply.status)) {
        this.log.info({}, 'node marked disconnected');
      } else {
        const err = new RegistryResponseError(reply.request, reply.status, reply.body);
        this.log.warn({ err }, 'failed to mark the node disconnected');
      }
    } catch (err) {
      this.log.warn({ err }, 'failed to mark the node disconnected');
    }
  }

  /**
   * Sends a request until it gets a response that is not a network error, a 408, a 429 or a 5xx,
   * waiting with back-off between attempts. Throws AgentStopped when stop() interrupts it.
   */
  private async send(
    operation: string,
    method: string,
    path: string,
    body?: RequestBody,
  ): Promise<Reply> {
    for (let attempt = 0; ; attempt += 1) {
      this.throwIfStopped();
      const payload = typeof body === 'function' ? await body() : body;
      let reply: Reply | undefined;
      let failure: Error;
      try {
        reply = await this.client.exchange(method, path, payload, {
          timeoutMs: this.options.requestTimeoutMs ?? 10_000,
          signal: this.abort.signal,
        });
        if (!isTransient(reply.status)) {
          this.failures.recovered();
          return reply;
        }
        failure = new RegistryResponseError(reply.request, reply.status, reply.body);
      } catch (error) {
        this.throwIfStopped();
        failure = error as Error;
      }

      const delayMs = retryDelay(attempt, reply?.retryAfterMs, this.backoff);
      this.failures.failed(failure, { operation, attempt, retry_in_ms: delayMs });
      this.emit('retry', { operation, attempt, delay_ms: delayMs, error: failure });
      await this.pause(delayMs);
    }
  }

  /** Turns an unexpected response into the AgentFatalError that stops the agent. */
  private fatal(operation: string, reply: Reply): AgentFatalError {
    const error = new RegistryResponseError(reply.request, reply.status, reply.body);
    const params = (error.invalidParams ?? []).map((param) => `${param.name} ${param.reason}`);
    const details = params.length > 0 ? ` (invalid: ${params.join(', ')})` : '';
    const message = `${operation} failed: ${error.message}${details}. ${fixFor(reply.status)}.`;
    return new AgentFatalError(operation, message, error);
  }

  /**
   * Returns on a 2xx response. Throws RegistrationLost on a 404 other than a missing route, because
   * the node or a group disappeared during registration, and AgentFatalError on anything else.
   */
  private requireSuccess(operation: string, reply: Reply): void {
    if (isSuccess(reply.status)) return;
    if (reply.status === 404 && !isRouteMissing(reply)) {
      const error = new RegistryResponseError(reply.request, 404, reply.body);
      throw new RegistrationLost(`${operation} failed: ${error.message}`, { cause: error });
    }
    throw this.fatal(operation, reply);
  }

  private async pause(ms: number): Promise<void> {
    if (ms > 0) await this.sleep(ms, this.abort.signal).catch(() => undefined);
    this.throwIfStopped();
  }

  private throwIfStopped(): void {
    if (this.abort.signal.aborted) throw new AgentStopped('the agent was stopped');
  }
}

/** Returns the next slot of the fixed cadence after `now`, skipping the slots already missed. */
function nextSlot(due: number, now: number, intervalMs: number): number {
  const next = due + intervalMs;
  if (next > now) return next;
  return next + Math.ceil((now - next) / intervalMs) * intervalMs;
}

/** Returns the next step for an operator whose agent stopped on this response status. */
function fixFor(status: number): string {
  if (status === 401) return 'Check the token';
  if (status === 403) return 'Use a token whose role and name pattern allow this node';
  if (status === 404) return 'Check that the server URL points at a Thunderlink registry';
  if (status === 400 || status === 422) return 'Fix the agent options named above';
  return 'Check the agent options and the registry version';
}

function checkInterval(intervalMs: number): number {
  if (!Number.isInteger(intervalMs) || intervalMs < 100 || intervalMs > 3_600_000) {
    throw new RangeError(`invalid heartbeat interval ${intervalMs} ms: use 100 ms to 1 h`);
  }
  return intervalMs;
}

async function sleepUntilAborted(ms: number, signal: AbortSignal): Promise<void> {
  await delay(ms, undefined, { signal }).catch(() => undefined);
}
