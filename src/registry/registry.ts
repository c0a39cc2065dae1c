// The registry: the one place where state changes. Routes, the demo and the agent's server side
// call these methods; each change runs in one transaction together with its outbox event.
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { Database } from '../store/database.js';
import * as capabilities from './capabilities.js';
import { RegistryContext, type RegistrySettings, defaultRegistrySettings } from './context.js';
import * as graph from './graph.js';
import * as groups from './groups.js';
import * as heartbeats from './heartbeats.js';
import * as links from './links.js';
import type { LinkRecord, NodeRecord, NodeStatus } from './model.js';
import * as nodes from './nodes.js';
import type {
  CapabilityInput,
  CreateGroupInput,
  EnsureNodeInput,
  EstablishLinkInput,
  GraphFilter,
  GroupFilter,
  HeartbeatInput,
  LinkAttributes,
  LinkFilter,
  NodeFilter,
  UpdateGroupInput,
  UpdateLinkInput,
} from './operations.js';
import { requireNode } from './lookup.js';
import { getHeartbeatHistory } from './history.js';

export class Registry {
  readonly context: RegistryContext;
  private readonly writer: heartbeats.HeartbeatWriter;

  constructor(
    db: Database,
    clock: Clock,
    logger: Logger,
    settings: RegistrySettings = defaultRegistrySettings,
  ) {
    this.context = new RegistryContext(db, clock, logger, settings);
    this.writer = new heartbeats.HeartbeatWriter(this.context);
  }

  ensureNode(input: EnsureNodeInput) {
    return nodes.ensureNode(this.context, input);
  }

  /** Marks a node online and, given a remote node, establishes or refreshes their link. */
  markOnline(
    ref: string,
    link?: LinkAttributes & { remote_node_id: string },
  ): Promise<{ node: NodeRecord; link: LinkRecord | null }> {
    if (link) links.checkLinkAttributes(this.context, link);
    return this.context.change(async (tx, emit, now) => {
      const node = await requireNode(tx, ref, true);
      const moved = await nodes.transition(tx, emit, now, node.id, 'online', {
        respectMaintenance: true,
      });
      const { remote_node_id: remote, ...attributes } = link ?? { remote_node_id: undefined };
      const session =
        remote === undefined
          ? null
          : await links.establishOrRefresh(tx, emit, now, node.id, remote, attributes);
      return { node: moved ?? node, link: session };
    });
  }

  markStatus(ref: string, status: NodeStatus) {
    return nodes.markStatus(this.context, ref, status);
  }

  setMaintenance(ref: string, enabled: boolean) {
    return nodes.setMaintenance(this.context, ref, enabled);
  }

  heartbeat(ref: string, input: HeartbeatInput) {
    return heartbeats.heartbeat(this.context, this.writer, ref, input);
  }

  heartbeats(items: (HeartbeatInput & { node_id: string })[]) {
    return heartbeats.heartbeats(this.context, this.writer, items);
  }

  heartbeatHistory(ref: string, minutes: number) {
    return getHeartbeatHistory(this.context, ref, minutes);
  }

  listNodes(filter: NodeFilter) {
    return nodes.listNodes(this.context, filter);
  }

  getNode(ref: string) {
    return nodes.getNode(this.context, ref);
  }

  async deregisterNode(ref: string): Promise<void> {
    await nodes.deregisterNode(this.context, ref);
  }

  establishLink(input: EstablishLinkInput) {
    return links.establishLink(this.context, input);
  }

  updateLink(id: string, patch: UpdateLinkInput) {
    return links.updateLink(this.context, id, patch);
  }

  closeLink(id: string, reason?: string) {
    return links.endLink(this.context, id, 'closed', reason);
  }

  failLink(id: string, reason?: string) {
    return links.endLink(this.context, id, 'failed', reason);
  }

  getLink(id: string) {
    return links.getLink(this.context, id);
  }

  listLinks(filter: LinkFilter) {
    const limit = nodes.pageSize(this.context, filter.limit);
    return links.listLinks(this.context, { ...filter, limit });
  }

  setCapability(ref: string, key: string, input: CapabilityInput) {
    return capabilities.setCapability(this.context, ref, key, input);
  }

  deleteCapability(ref: string, key: string) {
    return capabilities.deleteCapability(this.context, ref, key);
  }

  findNodesByCapability(key: string, value?: string) {
    return capabilities.findNodesByCapability(this.context, key, value);
  }

  createGroup(input: CreateGroupInput) {
    return groups.createGroup(this.context, input);
  }

  updateGroup(ref: string, patch: UpdateGroupInput) {
    return groups.updateGroup(this.context, ref, patch);
  }

  deleteGroup(ref: string) {
    return groups.deleteGroup(this.context, ref);
  }

  getGroup(ref: string) {
    return groups.getGroup(this.context, ref);
  }

  listGroups(filter: GroupFilter) {
    return groups.listGroups(this.context, filter);
  }

  groupTree() {
    return groups.groupTree(this.context);
  }

  addMember(groupRef: string, nodeRef: string) {
    return groups.addMember(this.context, groupRef, nodeRef);
  }

  removeMember(groupRef: string, nodeRef: string) {
    return groups.removeMember(this.context, groupRef, nodeRef);
  }

  graph(filter: GraphFilter = {}) {
    return graph.readGraph(this.context, filter);
  }

  events(since: number, limit?: number) {
    return graph.readEventPage(this.context, since, limit);
  }

  /** Registers a listener for the newest seq after each local commit that wrote events. */
  onCommitted(listener: (seq: number) => void): () => void {
    return this.context.onCommitted(listener);
  }
}
