-- A group's settings may be kept under its id from before it became a supergroup: the engine
-- looks the old id up by the new one whenever the config has per-group tables. Only migrated
-- chats have migrated_to, so the index stays as small as they are few.
CREATE INDEX chats_migrated_to ON chats (migrated_to) WHERE migrated_to IS NOT NULL;
