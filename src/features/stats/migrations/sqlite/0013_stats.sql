-- The statistics' record of who joined and who left a group on each local calendar day (days
-- since 0001-01-01): members.joined_at and left_at keep only the latest, so a member who came,
-- went and came back would otherwise vanish from the history. One row per member and day makes
-- a repeated report of the same join count once.
CREATE TABLE member_moves (
    chat_id  INTEGER NOT NULL,
    day      INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    -- 1 if the member joined (or left) that day
    joined   INTEGER NOT NULL DEFAULT 0,
    departed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (chat_id, day, user_id)
);
