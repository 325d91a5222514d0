-- Webhook URLs carry their token in their path, so the notifications table keeps a webhook's
-- target redacted (`https://hooks.example.com/…`: the scheme and the host, never the path or
-- the query) and, beside it, its key id: the first 12 hex digits of the SHA-256 of the URL as
-- the policy writes it, by which an operator tells the configured webhooks apart
-- (model/src/notification/secrets.rs). NULL for e-mail.
--
-- The rows written before hold whole URLs. SQL has no SHA-256, so the store redacts them, with
-- their key ids, when it opens the database (`redact_recorded_webhooks` in
-- crates/store/src/sqlite/postmortems.rs); the index finds them at no cost once there are none.
--
-- Ports to PostgreSQL as written.

ALTER TABLE notifications ADD COLUMN key_id TEXT;

CREATE INDEX notifications_unredacted ON notifications (id)
    WHERE channel = 'webhook' AND key_id IS NULL;
