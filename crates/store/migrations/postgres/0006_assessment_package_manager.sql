-- The package manager each successful assessment found. PostgreSQL's twin of
-- migrations/sqlite/0006.
ALTER TABLE assessments ADD COLUMN package_manager TEXT;
