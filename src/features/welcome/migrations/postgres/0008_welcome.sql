-- Newcomers waiting for the next welcome message: everyone who joins before it goes out is
-- greeted in it, so a wave of joins costs one message.
CREATE TABLE welcome_pending (
    chat_id    BIGINT  NOT NULL,
    user_id    BIGINT  NOT NULL,
    joined_at  BIGINT  NOT NULL,
    -- 1 when the newcomer was restricted and must answer the captcha in the welcome.
    captcha    BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (chat_id, user_id)
);

-- Welcome messages posted, numbered per chat (the message key is welcome:<batch>): to delete
-- the previous one, and to take a captcha's buttons off once everyone in it has answered.
CREATE TABLE welcome_posts (
    chat_id    BIGINT  NOT NULL,
    batch      BIGINT  NOT NULL,
    -- The greeting without its captcha question (what stays once everyone answered).
    text       TEXT    NOT NULL,
    -- The newcomers it greets, a JSON list of user ids.
    members    TEXT    NOT NULL DEFAULT '[]',
    posted_at  BIGINT  NOT NULL,
    deleted    BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (chat_id, batch)
);

-- Newcomers who are restricted until they answer the captcha. batch and answer are set when
-- the welcome holding their question is posted.
CREATE TABLE welcome_captchas (
    chat_id    BIGINT  NOT NULL,
    user_id    BIGINT  NOT NULL,
    batch      BIGINT,
    answer     TEXT,
    wrong      BIGINT  NOT NULL DEFAULT 0,
    -- When the newcomer was restricted.
    opened_at  BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (chat_id, user_id)
);

-- The follow-up of each newcomer's latest join: whether the reminder and the action are
-- done. Newcomers who joined together are followed up together, in one message; these flags
-- make sure nobody is named twice however their timers fire.
CREATE TABLE welcome_followups (
    chat_id    BIGINT  NOT NULL,
    user_id    BIGINT  NOT NULL,
    joined_at  BIGINT  NOT NULL,
    reminded   BIGINT  NOT NULL DEFAULT 0,
    acted      BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (chat_id, user_id)
);
CREATE INDEX welcome_followups_joined ON welcome_followups (chat_id, joined_at);

-- Things the feature says once per chat (the warning that the captcha cannot work without
-- the right to restrict members).
CREATE TABLE welcome_chat_state (
    chat_id         BIGINT PRIMARY KEY,
    captcha_warned  BIGINT  NOT NULL DEFAULT 0
);

-- Members' self-introductions (自我介绍): their card. fields is a JSON list of [field, value]
-- in the form's order. The birthday, when given, is also kept as month/day (lunar or not,
-- year if said) for birthday wishes.
CREATE TABLE intro_profiles (
    chat_id         BIGINT  NOT NULL,
    user_id         BIGINT  NOT NULL,
    fields          TEXT    NOT NULL,
    message_id      BIGINT,
    birthday_text   TEXT,
    birthday_month  BIGINT,
    birthday_day    BIGINT,
    birthday_lunar  BIGINT  NOT NULL DEFAULT 0,
    birthday_year   BIGINT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    PRIMARY KEY (chat_id, user_id)
);
CREATE INDEX intro_profiles_birthday ON intro_profiles (birthday_month, birthday_day);
