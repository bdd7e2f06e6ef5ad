-- Relay sign-up lists (接龙): one live list per event, each member's line kept as its own row.

-- A list. `source` names what created it (the member's message), so handling that message again
-- cannot make a second list.
CREATE TABLE relay_lists (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id         INTEGER NOT NULL,
    source          TEXT    NOT NULL,
    created_by      INTEGER NOT NULL,
    title           TEXT    NOT NULL,
    example         TEXT,
    note            TEXT,
    -- entries beyond this go to the waitlist (候补); NULL: no limit
    capacity        INTEGER,
    -- 1: a member has one entry (a second 接龙 changes it); 0: as many as they like
    one_per_member  INTEGER NOT NULL,
    deadline_at     INTEGER,
    remind_minutes  INTEGER NOT NULL DEFAULT 0,
    thread_id       INTEGER,
    created_at      INTEGER NOT NULL,
    closed_at       INTEGER,
    -- goes up with every change of the list; an export remembers the one it showed
    version         INTEGER NOT NULL DEFAULT 0,
    exported_version INTEGER,
    -- how many messages the list takes (a long list is split into pages)
    pages           INTEGER NOT NULL DEFAULT 1,
    UNIQUE (chat_id, source)
);
CREATE INDEX relay_lists_open ON relay_lists (chat_id, closed_at);

-- One line of a list. `position` is the order of arrival, given inside the chat's locked
-- transaction; the numbers members see are the rank among the lines still there. `source`
-- names what made the line: the message or button press (so handling it twice adds nothing),
-- or the member (in one-entry-per-member lists, so a member has one line).
CREATE TABLE relay_entries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    list_id     INTEGER NOT NULL REFERENCES relay_lists (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    source      TEXT    NOT NULL,
    -- NULL for lines taken over from a pasted WeChat list
    user_id     INTEGER,
    username    TEXT,
    name        TEXT    NOT NULL,
    content     TEXT    NOT NULL,
    -- the member's message that made the line, if one did (editing it edits the line)
    message_id  INTEGER,
    created_at  INTEGER NOT NULL,
    edited_at   INTEGER,
    UNIQUE (list_id, source),
    UNIQUE (list_id, position)
);
CREATE INDEX relay_entries_member ON relay_entries (list_id, user_id);
