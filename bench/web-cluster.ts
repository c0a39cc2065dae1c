// The cluster that the web benchmark draws: a group tree of regions, zones and racks, nodes in a
// mix of roles, and open links along the cluster's structure. It is planned from a seeded random
// generator, so every run with the same sizes draws the same graph, and seeded through the
// registry's own operations, so the outbox and the graph are exactly what real clients produce.
import { setTimeout as sleep } from 'node:timers/promises';

import type { GroupType, NodeRole, SessionType } from '../src/registry/model.js';
import type { Registry } from '../src/registry/registry.js';

/**
 * Heartbeat interval of every node. It is long so that the liveness sweep leaves the statuses
 * alone during a run: the benchmark changes them itself, and a node that falls silent after
 * 2.5 intervals would add changes of its own.
 */
const heartbeatIntervalMs = 15 * 60_000;

const regions = ['eu-west', 'us-east', 'ap-south'];
const zonesPerRegion = 3;
/** Rough number of BEAM nodes (controllers, relays and workers) per rack. */
const nodesPerRack = 80;
/** Registry calls in flight at once while seeding. */
const concurrency = 8;
const progressIntervalMs = 3000;
/** The default overlap of the stream's metrics poller, in src/realtime/metrics.ts. */
const metricsOverlapMs = 2000;

export interface PlannedNode {
  name: string;
  role: NodeRole;
  clusterType: 'in_cluster' | 'out_of_cluster';
  /** The group it is a member of: its rack for BEAM nodes, its zone for gateways and edges. */
  group: string;
  zone: number;
}

export interface PlannedLink {
  from: string;
  to: string;
  type: SessionType;
}

export interface ClusterPlan {
  groups: { name: string; type: GroupType; parent?: string }[];
  nodes: PlannedNode[];
  links: PlannedLink[];
}

/** Returns a generator of numbers in [0, 1) from a 32-bit seed (mulberry32). */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Returns how many nodes of each role a cluster of `nodeCount` has. */
function roleCounts(nodeCount: number, zoneCount: number): [NodeRole, number][] {
  let left = nodeCount;
  const take = (requested: number) => {
    const count = Math.max(0, Math.min(left, requested));
    left -= count;
    return count;
  };
  const controllers = take(Math.max(3, Math.round(nodeCount / 1000)));
  const gateways = take(Math.max(zoneCount, Math.round(nodeCount * 0.02)));
  const relays = take(Math.round(nodeCount * 0.01));
  const workers = take(Math.round(nodeCount * 0.3));
  return [
    ['controller', controllers],
    ['gateway', gateways],
    ['relay', relays],
    ['worker', workers],
    ['edge', left],
  ];
}

const namePrefix: Record<NodeRole, string> = {
  controller: 'core',
  gateway: 'gw',
  relay: 'relay',
  worker: 'worker',
  edge: 'sensor',
};

/** Plans the groups and nodes: every role is spread round-robin over the zones. */
function planNodes(nodeCount: number): Pick<ClusterPlan, 'groups' | 'nodes'> {
  const zones = regions.flatMap((region) =>
    Array.from({ length: zonesPerRegion }, (_, i) => `${region}-1${String.fromCharCode(97 + i)}`),
  );
  const counts = roleCounts(nodeCount, zones.length);
  const beamCount = counts
    .filter(([role]) => role === 'controller' || role === 'relay' || role === 'worker')
    .reduce((sum, [, count]) => sum + count, 0);
  const racksPerZone = Math.max(1, Math.round(beamCount / zones.length / nodesPerRack));

  const groups: ClusterPlan['groups'] = regions.map((name) => ({ name, type: 'region' }));
  zones.forEach((zone, i) => {
    groups.push({ name: zone, type: 'zone', parent: regions[Math.floor(i / zonesPerRegion)] });
    for (let rack = 1; rack <= racksPerZone; rack += 1) {
      groups.push({ name: `${zone}-rack-${rack}`, type: 'custom', parent: zone });
    }
  });

  const nodes: PlannedNode[] = [];
  for (const [role, count] of counts) {
    const width = String(count).length;
    for (let k = 0; k < count; k += 1) {
      // Controllers go one per region in turn, so every region has one when there are three.
      const zone =
        role === 'controller'
          ? (k % regions.length) * zonesPerRegion +
            (Math.floor(k / regions.length) % zonesPerRegion)
          : k % zones.length;
      const beam = role === 'controller' || role === 'relay' || role === 'worker';
      const rack = (Math.floor(k / zones.length) % racksPerZone) + 1;
      nodes.push({
        name: `${namePrefix[role]}-${String(k + 1).padStart(width, '0')}@${zones[zone]}`,
        role,
        clusterType: beam ? 'in_cluster' : 'out_of_cluster',
        group: beam ? `${zones[zone]}-rack-${rack}` : zones[zone]!,
        zone,
      });
    }
  }
  return { groups, nodes };
}

/** Returns the session type of a node's link to the node above it. */
function uplinkType(node: PlannedNode): SessionType {
  if (node.role === 'gateway') return 'hotline';
  if (node.role === 'edge') return 'tocp';
  return 'cluster';
}

/**
 * Plans the links: a full mesh of controllers, each gateway and relay linked to a controller of
 * its region, each worker to a relay of its zone and each edge device to a gateway of its zone.
 * Links beyond those join random workers and relays of one zone, or give an edge device a second
 * gateway. With fewer links than that structure needs, it is cut short.
 */
function planLinks(nodes: PlannedNode[], linkCount: number, random: () => number): PlannedLink[] {
  const zoneCount = regions.length * zonesPerRegion;
  const byRole = (role: NodeRole) => nodes.filter((node) => node.role === role);
  const byZone = (list: PlannedNode[]) =>
    Array.from({ length: zoneCount }, (_, zone) => list.filter((node) => node.zone === zone));
  const controllers = byRole('controller');
  const edges = byRole('edge');
  const controllersByRegion = regions.map((_, region) =>
    controllers.filter((node) => Math.floor(node.zone / zonesPerRegion) === region),
  );
  const gatewaysByZone = byZone(byRole('gateway'));
  const relaysByZone = byZone(byRole('relay'));
  const beamByZone = byZone(
    nodes.filter((node) => node.role === 'worker' || node.role === 'relay'),
  );

  const links: PlannedLink[] = [];
  const pairs = new Set<string>();
  const add = (from: PlannedNode | undefined, to: PlannedNode | undefined, type: SessionType) => {
    if (!from || !to || from === to || links.length >= linkCount) return;
    const key = from.name < to.name ? `${from.name} ${to.name}` : `${to.name} ${from.name}`;
    if (pairs.has(key)) return;
    pairs.add(key);
    links.push({ from: from.name, to: to.name, type });
  };
  // Links each node to one of `targets`, in turn, or to a controller when `targets` is empty.
  const uplink = (list: PlannedNode[], targetsOf: (node: PlannedNode) => PlannedNode[]) =>
    list.forEach((node, k) => {
      const targets = targetsOf(node);
      const pool = targets.length > 0 ? targets : controllers;
      add(node, pool[k % pool.length], uplinkType(node));
    });

  controllers.forEach((a, i) => controllers.slice(i + 1).forEach((b) => add(a, b, 'cluster')));
  const regionControllers = (node: PlannedNode) =>
    controllersByRegion[Math.floor(node.zone / zonesPerRegion)] ?? [];
  uplink(byRole('gateway'), regionControllers);
  uplink(byRole('relay'), regionControllers);
  uplink(byRole('worker'), (node) => relaysByZone[node.zone] ?? []);
  uplink(edges, (node) => gatewaysByZone[node.zone] ?? []);

  // Random extra links. After many collisions, as in a small cluster that is nearly a full
  // mesh within its zones, any two nodes may be joined.
  const randomOf = <T>(list: readonly T[]): T | undefined =>
    list[Math.floor(random() * list.length)];
  for (let attempts = 0; links.length < linkCount; attempts += 1) {
    if (attempts > linkCount * 20) {
      throw new Error(`could not plan ${linkCount} distinct links between ${nodes.length} nodes`);
    }
    const anywhere = attempts > linkCount * 10;
    if (anywhere || random() < 0.5) {
      const local = beamByZone[Math.floor(random() * zoneCount)] ?? [];
      const pool = anywhere || local.length < 2 ? nodes : local;
      add(randomOf(pool), randomOf(pool), 'cluster');
    } else {
      const edge = randomOf(edges);
      if (edge) add(edge, randomOf(gatewaysByZone[edge.zone] ?? []), 'tocp');
    }
  }
  return links;
}

/** Returns `count` items spread evenly over `list`. */
export function evenlySpaced<T>(list: readonly T[], count: number): T[] {
  const n = Math.min(count, list.length);
  return Array.from({ length: n }, (_, i) => list[Math.floor((i * list.length) / n)]!);
}

/** Plans a cluster of `nodeCount` nodes and `linkCount` open links. */
export function planCluster(nodeCount: number, linkCount: number, seed = 1): ClusterPlan {
  const { groups, nodes } = planNodes(nodeCount);
  return { groups, nodes, links: planLinks(nodes, linkCount, seededRandom(seed)) };
}

/** Calls `work` for every item with up to `concurrency` calls in flight. */
async function forEachConcurrently<T>(
  items: readonly T[],
  work: (item: T) => Promise<unknown>,
  onDone: (done: number) => void,
): Promise<void> {
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        await work(items[next++]!);
        onDone((done += 1));
      }
    }),
  );
}

/** Returns a progress reporter that prints at most every few seconds. */
function progress(label: string, total: number, log: (line: string) => void) {
  const started = performance.now();
  let printed = started;
  return (done: number) => {
    const now = performance.now();
    if (now - printed < progressIntervalMs && done < total) return;
    printed = now;
    const seconds = ((now - started) / 1000).toFixed(1);
    log(
      `  ${label}: ${done.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} (${seconds} s)`,
    );
  };
}

/**
 * Seeds the planned cluster through the registry and sends every node one heartbeat with
 * plausible metrics, which makes it online.
 */
export async function seedCluster(
  registry: Registry,
  plan: ClusterPlan,
  log: (line: string) => void,
): Promise<void> {
  for (const group of plan.groups) {
    await registry.createGroup({
      name: group.name,
      group_type: group.type,
      parent_group_id: group.parent ?? null,
    });
  }
  await forEachConcurrently(
    plan.nodes,
    (node) =>
      registry.ensureNode({
        name: node.name,
        role: node.role,
        cluster_type: node.clusterType,
        heartbeat_interval_ms: heartbeatIntervalMs,
      }),
    progress('nodes registered', plan.nodes.length, log),
  );
  await forEachConcurrently(
    plan.nodes,
    (node) => registry.addMember(node.group, node.name),
    progress('group memberships', plan.nodes.length, log),
  );
  await forEachConcurrently(
    plan.links,
    (link) =>
      registry.establishLink({
        node_id: link.from,
        remote_node_id: link.to,
        session_type: link.type,
      }),
    progress('links established', plan.links.length, log),
  );

  const random = seededRandom(2);
  const heartbeats = plan.nodes.map((node) => ({
    node_id: node.name,
    cpu_load: Math.round(random() * 100) / 100,
    mem_used_mb: 256 + Math.round(random() * 3840),
    latency_ms: Math.round(random() * 400) / 10,
  }));
  const report = progress('first heartbeats', heartbeats.length, log);
  for (let offset = 0; offset < heartbeats.length; offset += 1000) {
    const results = await registry.heartbeats(heartbeats.slice(offset, offset + 1000));
    const failed = results.find((result) => !result.ok);
    if (failed) throw new Error(`heartbeat of ${failed.node_id} failed: ${failed.detail}`);
    report(Math.min(heartbeats.length, offset + 1000));
  }

  // The stream's metrics poller (src/realtime/metrics.ts) starts from the newest heartbeat and
  // on its second read pushes a node_metrics for every node that sent one within its 2 s
  // overlap before it, although the join snapshot already carries those metrics. The heartbeats
  // above take about that long, so the page would get one push per node right after it loads.
  // One later heartbeat moves the newest one past that window.
  await sleep(metricsOverlapMs + 500);
  const [first] = heartbeats;
  if (first) {
    const { node_id: name, ...metrics } = first;
    await registry.heartbeat(name, metrics);
  }
}
