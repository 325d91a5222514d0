-- Webhook targets kept redacted, with their key id. PostgreSQL's twin of
-- migrations/sqlite/0010.
ALTER TABLE notifications ADD COLUMN key_id TEXT;

CREATE INDEX notifications_unredacted ON notifications (id)
    WHERE channel = 'webhook' AND key_id IS NULL;
