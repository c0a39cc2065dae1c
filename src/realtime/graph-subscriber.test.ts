// Unit tests of the subscriber's ordering rules with a fake channel and snapshot reader. They check
// what is buffered, skipped, sent or replaced by a topology_update in each state.
import { describe, expect, it } from 'vitest';

import { silentLogger } from '../log.js';
import type { Graph } from '../registry/model.js';
import type { Channel } from './connection.js';
import { GraphSubscriber } from './graph-subscriber.js';
import type { StreamItem } from './pushes.js';
import type { Snapshot, SnapshotReader } from './snapshots.js';

interface Sent {
  event: string;
  seq: number | undefined;
}

function fixture(options: { readFails?: boolean } = {}) {
  const sent: Sent[] = [];
  const drains: (() => void)[] = [];
  const reads: ((graph: Graph) => void)[] = [];
  let accepting = true;
  let failed = false;
  const record = (event: string, json: string) => {
    sent.push({ event, seq: (JSON.parse(json) as { seq?: number }).seq });
  };
  const channel = {
    push(event: string, json: string) {
      if (!accepting) return false;
      record(event, json);
      return true;
    },
    pushAlways(event: string, json: string) {
      record(event, json);
      return true;
    },
    onDrain: (listener: () => void) => drains.push(listener),
    fail: () => {
      failed = true;
    },
  } as unknown as Channel;
  let clock = 0;
  const snapshots = {
    read: () =>
      new Promise<Snapshot>((resolve, reject) => {
        if (options.readFails) reject(new Error('database down'));
        const startedAt = (clock += 1);
        reads.push((graph) => resolve({ graph, startedAt, json: () => JSON.stringify(graph) }));
      }),
  } as unknown as SnapshotReader;
  const subscriber = new GraphSubscriber(
    { snapshots, logger: silentLogger(), remove: () => undefined },
    channel,
    false,
  );
  return {
    subscriber,
    sent,
    reads,
    drains,
    setAccepting: (value: boolean) => (accepting = value),
    failed: () => failed,
  };
}

function push(seq: number): StreamItem {
  const payload = { group: 'g', disrupted: true, affected: 1, seq };
  return {
    kind: 'push',
    seq,
    push: { event: 'group_disrupted', payload },
    json: JSON.stringify(payload),
  };
}

const graphAt = (seq: number): Graph => ({ seq, nodes: [], links: [] });
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('GraphSubscriber', () => {
  it('sends items newer than the join baseline', () => {
    const { subscriber, sent } = fixture();
    subscriber.offer(push(4));
    subscriber.offer(push(5));
    subscriber.setBaseline(4, 0);
    subscriber.start();
    subscriber.offer(push(6));
    expect(sent).toEqual([
      { event: 'group_disrupted', seq: 5 },
      { event: 'group_disrupted', seq: 6 },
    ]);
  });

  it('waits for the join before a resync', async () => {
    const { subscriber, sent, reads } = fixture();
    subscriber.resync();
    expect(reads).toHaveLength(0);
    subscriber.offer(push(3));
    subscriber.setBaseline(2, 0);
    subscriber.start();
    expect(reads).toHaveLength(1);
    subscriber.offer(push(4));
    reads[0]?.(graphAt(3));
    await settle();
    expect(sent).toEqual([
      { event: 'topology_update', seq: 3 },
      { event: 'group_disrupted', seq: 4 },
    ]);
  });

  it('keeps one snapshot for repeated resyncs', async () => {
    const { subscriber, sent, reads } = fixture();
    subscriber.setBaseline(0, 0);
    subscriber.start();
    subscriber.resync();
    subscriber.offer(push(1));
    subscriber.resync();
    subscriber.offer(push(2));
    expect(reads).toHaveLength(1);
    reads[0]?.(graphAt(1));
    await settle();
    expect(sent).toEqual([
      { event: 'topology_update', seq: 1 },
      { event: 'group_disrupted', seq: 2 },
    ]);
  });

  it('resyncs after a resync item', async () => {
    const { subscriber, sent, reads } = fixture();
    subscriber.setBaseline(0, 0);
    subscriber.start();
    subscriber.offer({ kind: 'resync', seq: 1 });
    subscriber.offer(push(2));
    reads[0]?.(graphAt(2));
    await settle();
    subscriber.offer(push(3));
    expect(sent).toEqual([
      { event: 'topology_update', seq: 2 },
      { event: 'group_disrupted', seq: 3 },
    ]);
  });

  it('drops pushes until the queue drains', async () => {
    const { subscriber, sent, reads, drains, setAccepting } = fixture();
    subscriber.setBaseline(0, 0);
    subscriber.start();
    setAccepting(false);
    subscriber.offer(push(1));
    subscriber.offer(push(2));
    subscriber.resync();
    expect(reads).toHaveLength(0);
    setAccepting(true);
    drains[0]?.();
    subscriber.offer(push(3));
    reads[0]?.(graphAt(3));
    await settle();
    subscriber.offer(push(4));
    expect(sent).toEqual([
      { event: 'topology_update', seq: 3 },
      { event: 'group_disrupted', seq: 4 },
    ]);
  });

  it('fails the channel when the snapshot read fails', async () => {
    const { subscriber, failed } = fixture({ readFails: true });
    subscriber.setBaseline(0, 0);
    subscriber.start();
    subscriber.resync();
    await settle();
    expect(failed()).toBe(true);
  });
});
