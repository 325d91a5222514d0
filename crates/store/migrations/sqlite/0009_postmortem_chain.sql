-- The record of each postmortem's actions, hash-chained like the rollout journal
-- (crates/store/src/journal_chain.rs): a record edited, rewritten or moved to another postmortem
-- no longer verifies. Entries written before this migration have no hash and are reported as
-- not covered by the chain.
--
-- Ports to PostgreSQL as written.
ALTER TABLE postmortem_events ADD COLUMN prev_hash TEXT CHECK (prev_hash IS NULL OR length(prev_hash) = 64);
ALTER TABLE postmortem_events ADD COLUMN hash TEXT CHECK (hash IS NULL OR length(hash) = 64);
