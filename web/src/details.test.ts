import { describe, expect, it } from 'vitest';

import type { NodeDetails } from '../../src/registry/operations.js';
import { detailSections } from './details.js';
import { linkLabel, nodeLabel } from './labels.js';
import { createGraphState, type ViewLink, type ViewNode } from './merge.js';

function details(fields: Partial<NodeDetails> = {}): NodeDetails {
  return {
    id: 'id-a',
    name: 'a@host',
    role: 'worker',
    domain: 'default',
    status: 'online',
    status_changed_at: '2026-01-01T00:00:00.000Z',
    cluster_type: 'in_cluster',
    meta: { rack: 'r1', slots: 4 },
    heartbeat_interval_ms: 5000,
    flapping: false,
    maintenance: true,
    last_cpu_load: 0.25,
    last_mem_used_mb: 512,
    last_latency_ms: null,
    last_seen_at: null,
    capabilities: [
      { capability_key: 'gpu', capability_value: 'a100', enabled: true },
      { capability_key: 'camera', capability_value: null, enabled: false },
    ],
    groups: [{ id: 'g1', name: 'eu-west', group_type: 'region' }],
    links: [
      {
        id: 'l1',
        node_id: 'id-b',
        remote_node_id: 'id-a',
        session_type: 'cluster',
        status: 'established',
        latency_ms: 1.5,
      },
    ],
    heartbeat_summary: { minutes: 15, count: 3 },
    ...fields,
  } as NodeDetails;
}

function section(all: ReturnType<typeof detailSections>, title: string) {
  const found = all.find((candidate) => candidate.title === title);
  expect(found, `section ${title}`).toBeDefined();
  return Object.fromEntries(found!.rows);
}

describe('detailSections', () => {
  const nameOf = (id: string) => (id === 'id-b' ? 'b@host' : id);

  it('lists fields with units and flags', () => {
    const fields = section(detailSections(details(), nameOf), 'Fields');
    expect(fields.status).toBe('online, maintenance');
    expect(fields.cpu).toBe('0.25');
    expect(fields.mem).toBe('512 MB');
    expect(fields.latency).toBe('n/a');
    expect(fields['last seen']).toBe('never');
    expect(fields.heartbeats).toBe('3 in the last 15 min');
  });

  it('lists metadata as text', () => {
    const meta = section(detailSections(details(), nameOf), 'Metadata');
    expect(meta).toEqual({ rack: 'r1', slots: '4' });
  });

  it('lists capabilities and marks disabled ones', () => {
    const capabilities = section(detailSections(details(), nameOf), 'Capabilities');
    expect(capabilities).toEqual({ gpu: 'a100', camera: '(disabled)' });
  });

  it('names the peer of each open link', () => {
    const links = section(detailSections(details(), nameOf), 'Open links');
    expect(links).toEqual({ 'b@host': 'cluster, established, 1.5 ms' });
  });

  it('says none for empty lists', () => {
    const all = detailSections(
      details({ meta: {}, capabilities: [], groups: [], links: [] }),
      nameOf,
    );
    for (const title of ['Metadata', 'Capabilities', 'Groups', 'Open links']) {
      expect(section(all, title)).toEqual({ none: '' });
    }
  });
});

describe('tooltips', () => {
  it('escape device-chosen names', () => {
    const html = nodeLabel({
      id: 'x',
      name: '<img src=x onerror=alert(1)>',
      groups: ['<b>g</b>'],
    } as ViewNode);
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('name both ends of a link', () => {
    const state = createGraphState();
    state.nodes.set('a', { id: 'a', name: 'a&b' } as ViewNode);
    state.nodes.set('b', { id: 'b', name: 'c' } as ViewNode);
    const nameOf = (id: string) => state.nodes.get(id)?.name;
    const html = linkLabel(nameOf, { id: 'l', source: 'a', target: 'b' } as ViewLink);
    expect(html).toContain('a&amp;b ↔ c');
  });

  it('escapes a group name and counts its members', () => {
    const html = nodeLabel({
      id: 'group:<i>z</i>',
      name: '<i>z</i>',
      collapsed: {
        group: '<i>z</i>',
        members: ['a', 'b', 'c'],
        counts: { online: 2, offline: 1 },
        disrupted: true,
      },
    } as ViewNode);
    expect(html).not.toContain('<i>');
    expect(html).toContain('group &lt;i&gt;z&lt;/i&gt;');
    expect(html).toContain('members: 3');
    expect(html).toContain('status: 1 offline, 2 online');
    expect(html).toContain('mass failure');
  });

  it('labels a merged and a failing link', () => {
    const html = linkLabel(() => 'x', {
      id: 'l',
      source: 'a',
      target: 'b',
      merged_count: 4,
      failing: true,
    } as ViewLink);
    expect(html).toContain('links: 4');
    expect(html).toContain('status: failed');
  });
});
