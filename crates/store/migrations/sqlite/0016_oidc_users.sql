-- Users who log in through the server's OIDC provider: `oidc_subject` is the provider's issuer
-- and the user's subject there (`ISSUER SUBJECT`), NULL for a local user. Such a user has no
-- password (an empty hash, which no password matches), and their role follows their groups at
-- every login (a `role-changed` entry on the record when it changes).

ALTER TABLE users ADD COLUMN oidc_subject TEXT;
