-- Daily sign-in and the points ledger.

-- One row per member per group per sign-in day; the key makes a second sign-in that day (a
-- re-delivered update, two taps at once) impossible, and the rank index makes two members
-- sharing "today's 3rd place" impossible.
CREATE TABLE signins (
    chat_id    INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    -- the group's local sign-in day, as days since 0001-01-01 (chrono's num_days_from_ce)
    day        INTEGER NOT NULL,
    signed_at  INTEGER NOT NULL,
    rank       INTEGER NOT NULL,
    streak     INTEGER NOT NULL,
    points     INTEGER NOT NULL,
    PRIMARY KEY (chat_id, user_id, day)
);
CREATE UNIQUE INDEX signins_rank ON signins (chat_id, day, rank);
CREATE INDEX signins_recent ON signins (chat_id, signed_at);

-- Every change of a member's points, never updated or deleted: balances and boards are sums.
CREATE TABLE points_ledger (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id    INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    delta      INTEGER NOT NULL,
    reason     TEXT    NOT NULL,
    reference  TEXT,
    at         INTEGER NOT NULL
);
CREATE INDEX points_ledger_member ON points_ledger (chat_id, user_id);
CREATE INDEX points_ledger_time ON points_ledger (chat_id, at);
