-- Trust in rollouts: a fencing token on every lease, the hosts each rollout claims, and
-- journals whose hash chain begins with the rollout itself. PostgreSQL's twin of
-- migrations/sqlite/0007: a process writes to a rollout only while the row carries the token its
-- claim returned, checked by the conditional UPDATE or the row lock (`FOR UPDATE`) of each write.
ALTER TABLE rollouts ADD COLUMN fence BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollouts ADD COLUMN chain_version BIGINT NOT NULL DEFAULT 1;

CREATE TABLE rollout_hosts (
    rollout_id TEXT NOT NULL REFERENCES rollouts (id),
    host       TEXT NOT NULL,
    PRIMARY KEY (rollout_id, host)
);

CREATE INDEX rollout_hosts_by_host ON rollout_hosts (host, rollout_id);
CREATE INDEX rollouts_by_plan ON rollouts (plan_id, created_at);

INSERT INTO rollout_hosts (rollout_id, host)
SELECT DISTINCT rollouts.id, planned.value ->> 'host'
FROM rollouts
JOIN plans ON plans.id = rollouts.plan_id,
     jsonb_array_elements(plans.body::jsonb -> 'hosts') AS planned (value)
WHERE jsonb_typeof(planned.value -> 'host') = 'string';
