-- Group rules (moderation). Instants are Unix seconds.

-- Members' recent messages, for the flood and repeat checks. Kept a day, then dropped.
CREATE TABLE mod_recent (
    chat_id      BIGINT NOT NULL,
    message_id   BIGINT NOT NULL,
    user_id      BIGINT NOT NULL,
    at           BIGINT NOT NULL,
    -- the folded text without spaces and punctuation ('' for a sticker or a photo)
    fingerprint  TEXT    NOT NULL,
    -- photos sent as one album count as one message
    album        TEXT,
    PRIMARY KEY (chat_id, message_id)
);
CREATE INDEX mod_recent_member ON mod_recent (chat_id, user_id, at);

-- Rule violations the bot found: one per message, so an edit or a re-delivered update never
-- costs a member twice.
CREATE TABLE mod_violations (
    id          BIGSERIAL PRIMARY KEY,
    chat_id     BIGINT NOT NULL,
    user_id     BIGINT NOT NULL,
    message_id  BIGINT NOT NULL,
    rule        TEXT    NOT NULL,
    detail      TEXT    NOT NULL,
    -- what it cost: delete, warn, mute, kick, ban (and the ladder's step, if one was reached)
    penalty     TEXT    NOT NULL,
    at          BIGINT NOT NULL,
    undone_at   BIGINT,
    undone_by   BIGINT,
    UNIQUE (chat_id, message_id)
);

-- Warnings, given by the bot for a violation or by an admin with /warn.
CREATE TABLE mod_warnings (
    id            BIGSERIAL PRIMARY KEY,
    chat_id       BIGINT NOT NULL,
    user_id       BIGINT NOT NULL,
    reason        TEXT    NOT NULL,
    -- the admin who gave it (NULL: the bot, for the violation below)
    given_by      BIGINT,
    violation_id  BIGINT,
    at            BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    revoked_at    BIGINT,
    revoked_by    BIGINT
);
CREATE INDEX mod_warnings_member ON mod_warnings (chat_id, user_id, expires_at);

-- Members' reports (/report as a reply); a member reports a message once.
CREATE TABLE mod_reports (
    id           BIGSERIAL PRIMARY KEY,
    chat_id      BIGINT NOT NULL,
    message_id   BIGINT NOT NULL,
    reporter_id  BIGINT NOT NULL,
    target_id    BIGINT NOT NULL,
    excerpt      TEXT    NOT NULL,
    at           BIGINT NOT NULL,
    -- what an admin did about it: deleted, warned, banned, dismissed
    outcome      TEXT,
    UNIQUE (chat_id, message_id, reporter_id)
);

-- Things the bot tells a group once, such as "I lack the right to delete messages".
CREATE TABLE mod_notices (
    chat_id  BIGINT NOT NULL,
    notice   TEXT    NOT NULL,
    at       BIGINT NOT NULL,
    PRIMARY KEY (chat_id, notice)
);
