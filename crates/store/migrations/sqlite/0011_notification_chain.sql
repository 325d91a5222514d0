-- The record of notification deliveries, hash-chained in the order they were written
-- (crates/store/src/journal_chain.rs; `chain_seq` 1, 2, … from the first chained row): a
-- delivery edited, removed or made up no longer verifies. Rows written before have no hash
-- (their redaction on open, migration 0010, may still rewrite them) and are not covered;
-- chained rows are refused any change, even by hand.
--
-- Ports to PostgreSQL as written, except the triggers' bodies, as in 0002.
ALTER TABLE notifications ADD COLUMN chain_seq INTEGER CHECK (chain_seq IS NULL OR chain_seq >= 1);
ALTER TABLE notifications ADD COLUMN prev_hash TEXT CHECK (prev_hash IS NULL OR length(prev_hash) = 64);
ALTER TABLE notifications ADD COLUMN hash TEXT CHECK (hash IS NULL OR length(hash) = 64);

CREATE UNIQUE INDEX notifications_by_chain_seq ON notifications (chain_seq) WHERE chain_seq IS NOT NULL;

CREATE TRIGGER notifications_chained_refuse_update BEFORE UPDATE ON notifications
WHEN OLD.hash IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'the notification record is append-only: entries cannot be changed');
END;

CREATE TRIGGER notifications_chained_refuse_delete BEFORE DELETE ON notifications
WHEN OLD.hash IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'the notification record is append-only: entries cannot be deleted');
END;
