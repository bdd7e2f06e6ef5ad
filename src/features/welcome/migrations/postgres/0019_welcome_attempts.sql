-- When a newcomer posted something that reads as an introduction but misses required fields:
-- they tried, and were told what is missing, so the follow-up neither chases nor removes them.
ALTER TABLE welcome_followups ADD COLUMN attempted_at BIGINT;
