-- Trust in rollouts: a fencing token on every lease, the hosts each rollout claims, and
-- journals whose hash chain begins with the rollout itself.
--
-- Ports to PostgreSQL as written (the backfill's json_each becomes jsonb_array_elements).

-- Bumped by every claim of the lease. A process writes to a rollout (its journal, its phase)
-- only while the row still carries the token its claim returned: one that stalled past its
-- lease, while another took the rollout over, cannot write one more entry.
ALTER TABLE rollouts ADD COLUMN fence INTEGER NOT NULL DEFAULT 0;

-- How the journal's chain begins (crates/store/src/journal_chain.rs): 1, 64 zeros, for the
-- rollouts created before this migration; 2, a hash of the rollout's id, plan id and
-- configuration, so that a journal copied under another rollout, or a configuration edited
-- after the fact, no longer verifies.
ALTER TABLE rollouts ADD COLUMN chain_version INTEGER NOT NULL DEFAULT 1;

-- The hosts a rollout may change. A host is claimed by every rollout of this table that is not
-- finished (completed, halted, cancelled); a rollout is created only when none of its hosts is
-- claimed by another, in the same transaction as its row.
CREATE TABLE rollout_hosts (
    rollout_id TEXT NOT NULL REFERENCES rollouts (id),
    host       TEXT NOT NULL,
    PRIMARY KEY (rollout_id, host)
);

CREATE INDEX rollout_hosts_by_host ON rollout_hosts (host, rollout_id);
CREATE INDEX rollouts_by_plan ON rollouts (plan_id, created_at);

-- The rollouts on record claim the hosts of their plans, as new ones will.
INSERT INTO rollout_hosts (rollout_id, host)
SELECT DISTINCT rollouts.id, json_extract(planned.value, '$.host')
FROM rollouts
JOIN plans ON plans.id = rollouts.plan_id,
     json_each(plans.body, '$.hosts') AS planned
WHERE json_type(planned.value, '$.host') = 'text';
