-- Newcomers waiting for the next welcome message: everyone who joins before it goes out is
-- greeted in it, so a wave of joins costs one message.
CREATE TABLE welcome_pending (
    chat_id    INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    joined_at  INTEGER NOT NULL,
    -- 1 when the newcomer was restricted and must answer the captcha in the welcome.
    captcha    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (chat_id, user_id)
);

-- Welcome messages posted, numbered per chat (the message key is welcome:<batch>): to delete
-- the previous one, and to take a captcha's buttons off once everyone in it has answered.
CREATE TABLE welcome_posts (
    chat_id    INTEGER NOT NULL,
    batch      INTEGER NOT NULL,
    -- The greeting without its captcha question (what stays once everyone answered).
    text       TEXT    NOT NULL,
    -- The newcomers it greets, a JSON list of user ids.
    members    TEXT    NOT NULL DEFAULT '[]',
    posted_at  INTEGER NOT NULL,
    deleted    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (chat_id, batch)
);

-- Newcomers who are restricted until they answer the captcha. batch and answer are set when
-- the welcome holding their question is posted.
CREATE TABLE welcome_captchas (
    chat_id    INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    batch      INTEGER,
    answer     TEXT,
    wrong      INTEGER NOT NULL DEFAULT 0,
    -- When the newcomer was restricted.
    opened_at  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (chat_id, user_id)
);

-- The follow-up of each newcomer's latest join: whether the reminder and the action are
-- done. Newcomers who joined together are followed up together, in one message; these flags
-- make sure nobody is named twice however their timers fire.
CREATE TABLE welcome_followups (
    chat_id    INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    joined_at  INTEGER NOT NULL,
    reminded   INTEGER NOT NULL DEFAULT 0,
    acted      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (chat_id, user_id)
);
CREATE INDEX welcome_followups_joined ON welcome_followups (chat_id, joined_at);

-- Things the feature says once per chat (the warning that the captcha cannot work without
-- the right to restrict members).
CREATE TABLE welcome_chat_state (
    chat_id         INTEGER PRIMARY KEY,
    captcha_warned  INTEGER NOT NULL DEFAULT 0
);

-- Members' self-introductions (自我介绍): their card. fields is a JSON list of [field, value]
-- in the form's order. The birthday, when given, is also kept as month/day (lunar or not,
-- year if said) for birthday wishes.
CREATE TABLE intro_profiles (
    chat_id         INTEGER NOT NULL,
    user_id         INTEGER NOT NULL,
    fields          TEXT    NOT NULL,
    message_id      INTEGER,
    birthday_text   TEXT,
    birthday_month  INTEGER,
    birthday_day    INTEGER,
    birthday_lunar  INTEGER NOT NULL DEFAULT 0,
    birthday_year   INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (chat_id, user_id)
);
CREATE INDEX intro_profiles_birthday ON intro_profiles (birthday_month, birthday_day);
