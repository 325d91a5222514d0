-- The rollouts under way, indexed apart from the finished ones: every replica looks every 2 s
-- for those whose driver's lease ran out (`Rollouts::orphaned_rollouts`), and years of
-- finished rollouts must not make that look slower.
CREATE INDEX rollouts_under_way ON rollouts (lease_expires, id)
WHERE phase IN ('running', 'stopping');
