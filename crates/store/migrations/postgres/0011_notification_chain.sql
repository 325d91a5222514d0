-- The record of notification deliveries, hash-chained in the order they were written.
-- PostgreSQL's twin of migrations/sqlite/0011.
ALTER TABLE notifications ADD COLUMN chain_seq BIGINT CHECK (chain_seq IS NULL OR chain_seq >= 1);
ALTER TABLE notifications ADD COLUMN prev_hash TEXT CHECK (prev_hash IS NULL OR length(prev_hash) = 64);
ALTER TABLE notifications ADD COLUMN hash TEXT CHECK (hash IS NULL OR length(hash) = 64);

CREATE UNIQUE INDEX notifications_by_chain_seq ON notifications (chain_seq) WHERE chain_seq IS NOT NULL;

CREATE TRIGGER notifications_chained_refuse_update BEFORE UPDATE ON notifications
FOR EACH ROW WHEN (OLD.hash IS NOT NULL) EXECUTE FUNCTION
    refuse_change('the notification record is append-only: entries cannot be changed');

CREATE TRIGGER notifications_chained_refuse_delete BEFORE DELETE ON notifications
FOR EACH ROW WHEN (OLD.hash IS NOT NULL) EXECUTE FUNCTION
    refuse_change('the notification record is append-only: entries cannot be deleted');
