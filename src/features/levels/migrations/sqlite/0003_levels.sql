-- Experience for taking part in the conversation, separate from points.
CREATE TABLE member_xp (
    chat_id         INTEGER NOT NULL,
    user_id         INTEGER NOT NULL,
    xp              INTEGER NOT NULL DEFAULT 0,
    level           INTEGER NOT NULL DEFAULT 0,
    -- when XP was last granted, for the cooldown
    last_grant_at   INTEGER NOT NULL DEFAULT 0,
    -- a hash of the last text that earned XP, so repeating it earns nothing
    last_text_hash  INTEGER NOT NULL DEFAULT 0,
    -- XP earned on `day` (days since 0001-01-01, the group's local day), for the daily cap
    day             INTEGER NOT NULL DEFAULT 0,
    day_xp          INTEGER NOT NULL DEFAULT 0,
    -- when the member last went up a level
    leveled_at      INTEGER,
    PRIMARY KEY (chat_id, user_id)
);
CREATE INDEX member_xp_leveled ON member_xp (chat_id, leveled_at);
