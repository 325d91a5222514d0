-- The package manager each successful assessment found ('apt' or 'dnf'), so that the next
-- assessment of the host can gather its probes in the first round trip without reading the
-- assessment document. NULL for failed attempts and for those recorded before this column:
-- such a host is assessed as before (detect first, then gather).
--
-- Ports to PostgreSQL as written.
ALTER TABLE assessments ADD COLUMN package_manager TEXT;
