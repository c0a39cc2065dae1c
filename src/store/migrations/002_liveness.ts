// Columns and tables for liveness judgement, flapping, mass-failure damping and retention.

export const livenessSchema = `
-- The times at which liveness saw the node cross its deadline, within the flapping window, and
-- the last-seen time that the newest crossing belonged to, so one silence counts once. A node's
-- silence is counted from its last heartbeat, or from when liveness resumed judging it (the end
-- of its maintenance) when that is later.
ALTER TABLE thunderlink_nodes
  ADD COLUMN liveness_crossings timestamptz[] NOT NULL DEFAULT '{}',
  ADD COLUMN crossing_seen_at timestamptz,
  ADD COLUMN liveness_resumed_at timestamptz,
  ADD COLUMN disrupted_group_id uuid
    REFERENCES thunderlink_node_groups (id) ON DELETE SET NULL;
CREATE INDEX thunderlink_nodes_disrupted_idx ON thunderlink_nodes (disrupted_group_id)
  WHERE disrupted_group_id IS NOT NULL;

ALTER TABLE thunderlink_node_groups
  ADD COLUMN disrupted_since timestamptz,
  ADD COLUMN disrupted_affected integer;

-- Links that liveness moved to degraded because an end went offline, and that it restores.
ALTER TABLE thunderlink_link_sessions
  ADD COLUMN held_by_liveness boolean NOT NULL DEFAULT false;

-- One row: the highest seq that outbox retention has deleted. A reader asking for events after
-- a smaller seq has missed some and must reload the graph.
CREATE TABLE thunderlink_outbox_state (
  singleton boolean PRIMARY KEY DEFAULT true,
  pruned_through bigint NOT NULL DEFAULT 0,
  CONSTRAINT thunderlink_outbox_state_singleton CHECK (singleton)
);
INSERT INTO thunderlink_outbox_state DEFAULT VALUES;

-- One row: the registry time of the newest liveness sweep by any replica, so a starting
-- replica can tell how long the registry was not judging.
CREATE TABLE thunderlink_liveness_state (
  singleton boolean PRIMARY KEY DEFAULT true,
  last_sweep_at timestamptz,
  CONSTRAINT thunderlink_liveness_state_singleton CHECK (singleton)
);
INSERT INTO thunderlink_liveness_state DEFAULT VALUES;
`;
