-- The record of each postmortem's actions, hash-chained. PostgreSQL's twin of
-- migrations/sqlite/0009.
ALTER TABLE postmortem_events ADD COLUMN prev_hash TEXT CHECK (prev_hash IS NULL OR length(prev_hash) = 64);
ALTER TABLE postmortem_events ADD COLUMN hash TEXT CHECK (hash IS NULL OR length(hash) = 64);
