// A simulated cluster for a first look at the registry: BEAM nodes in a full mesh across two
// zones, gateways linked to them, and edge devices behind each gateway, all heartbeating with
// plausible metrics. Edge devices now and then fall silent and come back, so the graph moves.
import type { Logger } from '../log.js';
import type { NodeRole } from '../registry/model.js';
import type { Registry } from '../registry/registry.js';

interface SimulatedNode {
  name: string;
  role: NodeRole;
  group: string;
  capabilities: Record<string, string>;
  clusterType: 'in_cluster' | 'out_of_cluster';
}

export interface DemoCluster {
  nodes: string[];
  stop(): void;
}

const zones = [
  { name: 'eu-west-1a', region: 'eu-west' },
  { name: 'eu-west-1b', region: 'eu-west' },
];

function plan(): {
  nodes: SimulatedNode[];
  links: [string, string, 'cluster' | 'hotline' | 'tocp'][];
} {
  const beam: SimulatedNode[] = [
    {
      name: 'core-1@eu-west-1a',
      role: 'controller',
      group: 'eu-west-1a',
      capabilities: { raft: 'leader' },
      clusterType: 'in_cluster',
    },
    {
      name: 'core-2@eu-west-1a',
      role: 'worker',
      group: 'eu-west-1a',
      capabilities: { gpu: 'a100' },
      clusterType: 'in_cluster',
    },
    {
      name: 'core-3@eu-west-1a',
      role: 'worker',
      group: 'eu-west-1a',
      capabilities: {},
      clusterType: 'in_cluster',
    },
    {
      name: 'core-4@eu-west-1b',
      role: 'worker',
      group: 'eu-west-1b',
      capabilities: { gpu: 'h100' },
      clusterType: 'in_cluster',
    },
    {
      name: 'core-5@eu-west-1b',
      role: 'relay',
      group: 'eu-west-1b',
      capabilities: {},
      clusterType: 'in_cluster',
    },
  ];
  const links: [string, string, 'cluster' | 'hotline' | 'tocp'][] = [];
  for (let i = 0; i < beam.length; i += 1) {
    for (let j = i + 1; j < beam.length; j += 1)
      links.push([beam[i]!.name, beam[j]!.name, 'cluster']);
  }
  const nodes = [...beam];
  zones.forEach((zone, zoneIndex) => {
    const gateway = `gw-${zone.name}`;
    nodes.push({
      name: gateway,
      role: 'gateway',
      group: zone.name,
      capabilities: { radio: 'lorawan' },
      clusterType: 'out_of_cluster',
    });
    links.push([gateway, beam[zoneIndex * 3]!.name, 'hotline']);
    for (let device = 1; device <= 6; device += 1) {
      const name = `sensor-${zone.name}-${String(device).padStart(2, '0')}`;
      const sensor = device % 3 === 0 ? 'camera' : 'temperature';
      nodes.push({
        name,
        role: 'edge',
        group: zone.name,
        capabilities: { sensor },
        clusterType: 'out_of_cluster',
      });
      links.push([name, gateway, 'tocp']);
    }
  });
  return { nodes, links };
}

export async function startDemoCluster(
  registry: Registry,
  logger: Logger,
  intervalMs = 2000,
): Promise<DemoCluster> {
  const { nodes, links } = plan();
  for (const region of new Set(zones.map((zone) => zone.region))) {
    await registry.createGroup({ name: region, group_type: 'region' }).catch(ignoreExisting);
  }
  for (const zone of zones) {
    await registry
      .createGroup({ name: zone.name, group_type: 'zone', parent_group_id: zone.region })
      .catch(ignoreExisting);
  }
  await registry.createGroup({ name: 'beam', group_type: 'role' }).catch(ignoreExisting);

  for (const node of nodes) {
    await registry.ensureNode({
      name: node.name,
      role: node.role,
      cluster_type: node.clusterType,
      heartbeat_interval_ms: intervalMs,
      meta: { simulated: true },
    });
    await registry.addMember(node.group, node.name);
    if (node.clusterType === 'in_cluster') await registry.addMember('beam', node.name);
    for (const [key, value] of Object.entries(node.capabilities)) {
      await registry.setCapability(node.name, key, { value });
    }
  }
  for (const [from, to, type] of links) {
    await registry.markOnline(from, {
      remote_node_id: to,
      session_type: type,
      latency_ms: 1 + Math.random() * 20,
    });
  }

  const silent = new Set<string>();
  const tick = async () => {
    const edges = nodes.filter((node) => node.role === 'edge');
    if (Math.random() < 0.3) {
      const device = edges[Math.floor(Math.random() * edges.length)]!;
      // A silent device stops heartbeating; the liveness sweep degrades it and, if it stays
      // silent long enough, takes it offline.
      if (silent.has(device.name)) silent.delete(device.name);
      else silent.add(device.name);
    }
    await registry.heartbeats(
      nodes
        .filter((node) => !silent.has(node.name))
        .map((node) => ({
          node_id: node.name,
          cpu_load: Math.round(Math.random() * (node.role === 'edge' ? 30 : 90)) / 100,
          mem_used_mb: Math.round((node.role === 'edge' ? 64 : 2048) * (0.5 + Math.random() / 2)),
          latency_ms: Math.round(Math.random() * 4000) / 100,
        })),
    );
  };
  const timer = setInterval(() => {
    tick().catch((error: unknown) => logger.warn({ err: error }, 'demo tick failed'));
  }, intervalMs);
  await tick();
  logger.info({ nodes: nodes.length, links: links.length }, 'demo cluster running');
  return { nodes: nodes.map((node) => node.name), stop: () => clearInterval(timer) };
}

function ignoreExisting(error: unknown): void {
  if ((error as { code?: string }).code === 'TL_ERR_GROUP_EXISTS') return;
  throw error;
}
