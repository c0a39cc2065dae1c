// Whole-graph reads for stream clients, shared: every caller that asks before a read starts gets
// that read. A thousand clients rejoining after a restart cost one read per variant, not one each.
import type { Graph } from '../registry/model.js';
import type { Registry } from '../registry/registry.js';

export interface Snapshot {
  graph: Graph;
  /** Monotonic time at which the read started: it reflects every change committed before. */
  startedAt: number;
  /** The graph as JSON text, serialised once for every socket it goes to. */
  json(): string;
}

interface Waiting {
  promise: Promise<Snapshot>;
  resolve(snapshot: Snapshot): void;
  reject(error: unknown): void;
}

export class SnapshotReader {
  /** Per `include_offline`: the read that callers join, which has not started yet. */
  private readonly waiting = new Map<boolean, Waiting>();
  private readonly running = new Set<boolean>();

  constructor(
    private readonly registry: Pick<Registry, 'graph'>,
    private readonly now: () => number,
  ) {}

  /** Resolves with a graph read that starts after this call, so it reflects every prior commit. */
  read(includeOffline: boolean): Promise<Snapshot> {
    let waiting = this.waiting.get(includeOffline);
    if (!waiting) {
      waiting = deferred();
      this.waiting.set(includeOffline, waiting);
      if (!this.running.has(includeOffline)) void this.run(includeOffline);
    }
    return waiting.promise;
  }

  private async run(includeOffline: boolean): Promise<void> {
    this.running.add(includeOffline);
    try {
      for (;;) {
        const waiting = this.waiting.get(includeOffline);
        if (!waiting) return;
        this.waiting.delete(includeOffline);
        const startedAt = this.now();
        try {
          const graph = await this.registry.graph({ include_offline: includeOffline });
          waiting.resolve(toSnapshot(graph, startedAt));
        } catch (error) {
          waiting.reject(error);
        }
      }
    } finally {
      this.running.delete(includeOffline);
    }
  }
}

function toSnapshot(graph: Graph, startedAt: number): Snapshot {
  let json: string | undefined;
  return {
    graph,
    startedAt,
    json: () => (json ??= JSON.stringify(graph)),
  };
}

function deferred(): Waiting {
  let resolve!: (snapshot: Snapshot) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<Snapshot>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });
  // A read that fails with nobody left waiting must not be an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
