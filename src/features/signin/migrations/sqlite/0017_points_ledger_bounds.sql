-- An admin's /points once took any 64-bit number, and one far out of range made every later sum
-- of that member's balance overflow (the next /points failed). Such adjustments are brought to
-- the most one /points takes now (100,000 either way); nothing else could have made them.
UPDATE points_ledger
SET delta = CASE WHEN delta > 0 THEN 100000 ELSE -100000 END
WHERE reason = 'admin' AND (delta > 100000 OR delta < -100000);
