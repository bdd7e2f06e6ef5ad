-- Core tables every feature stands on. Instants are Unix seconds (INTEGER).

-- Every chat the bot has seen. A group upgraded to a supergroup keeps its row with
-- migrated_to set, so settings keyed by the old id can still be found.
CREATE TABLE chats (
    chat_id      INTEGER PRIMARY KEY,
    kind         TEXT    NOT NULL,
    title        TEXT,
    first_seen   INTEGER NOT NULL,
    last_active  INTEGER NOT NULL,
    migrated_to  INTEGER,
    -- 0 once Telegram says the bot was removed or blocked; sending stops then.
    active       INTEGER NOT NULL DEFAULT 1
);

-- What the bot knows about each member of each chat. Telegram offers no member list, so this
-- is built from what the bot sees: joins, leaves and messages.
CREATE TABLE members (
    chat_id        INTEGER NOT NULL,
    user_id        INTEGER NOT NULL,
    display_name   TEXT    NOT NULL,
    username       TEXT,
    is_bot         INTEGER NOT NULL DEFAULT 0,
    first_seen     INTEGER NOT NULL,
    joined_at      INTEGER,
    last_active    INTEGER,
    message_count  INTEGER NOT NULL DEFAULT 0,
    left_at        INTEGER,
    PRIMARY KEY (chat_id, user_id)
);
CREATE INDEX members_last_active ON members (chat_id, last_active);

-- Every moderation or administrative step, by an admin or by the bot itself (actor_id NULL).
CREATE TABLE admin_actions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id    INTEGER NOT NULL,
    actor_id   INTEGER,
    target_id  INTEGER,
    action     TEXT    NOT NULL,
    detail     TEXT,
    at         INTEGER NOT NULL
);
CREATE INDEX admin_actions_chat ON admin_actions (chat_id, at);

-- Received updates, written before Telegram is told they arrived (the next getUpdates offset),
-- and marked handled in the same transaction as everything their handling wrote.
CREATE TABLE inbox (
    source       TEXT    NOT NULL,
    update_id    INTEGER NOT NULL,
    chat_id      INTEGER,
    event        TEXT    NOT NULL,
    received_at  INTEGER NOT NULL,
    handled_at   INTEGER,
    PRIMARY KEY (source, update_id)
);
CREATE INDEX inbox_pending ON inbox (handled_at, source, update_id);

-- Calls to the chat platform that handling decided on, delivered after the transaction commits.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id      INTEGER NOT NULL,
    action       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    -- a reply nobody would want any more (after an outage) is dropped instead of sent
    expires_at   INTEGER,
    done_at      INTEGER,
    outcome      TEXT
);
CREATE INDEX outbox_pending ON outbox (done_at, id);

-- Messages the bot sent that a feature wants to edit later, by a name the feature chose.
CREATE TABLE bot_messages (
    chat_id     INTEGER NOT NULL,
    key         TEXT    NOT NULL,
    message_id  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (chat_id, key)
);

-- Only one process may poll a bot token; the holder renews its lease while it runs.
CREATE TABLE leases (
    name        TEXT    PRIMARY KEY,
    holder      TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL
);
