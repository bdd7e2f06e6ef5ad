-- A group's own changes to its settings, made by its admins in the chat (/lang, /setrules…):
-- one row per key, a dotted path in the group's config table ("language", "welcome.texts"),
-- holding a TOML value. They apply over the config file's settings for the group.
CREATE TABLE group_changes (
    chat_id INTEGER NOT NULL,
    key     TEXT    NOT NULL,
    value   TEXT    NOT NULL,
    set_by  INTEGER NOT NULL,
    set_at  INTEGER NOT NULL,
    PRIMARY KEY (chat_id, key)
);
