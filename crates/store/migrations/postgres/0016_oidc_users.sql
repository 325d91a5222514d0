-- Users who log in through the server's OIDC provider. PostgreSQL's twin of
-- migrations/sqlite/0016.
ALTER TABLE users ADD COLUMN oidc_subject TEXT;
