-- One-off timers a feature sets for itself (a captcha's deadline, a relay list's closing time,
-- a game's turn). A timer fires once: the scheduler claims it by setting fired_at and stores
-- its event in the inbox in the same transaction. Setting a timer again under the same key
-- replaces it.
CREATE TABLE timers (
    id        BIGSERIAL PRIMARY KEY,
    chat_id   BIGINT NOT NULL,
    feature   TEXT    NOT NULL,
    key       TEXT    NOT NULL,
    due_at    BIGINT NOT NULL,
    payload   TEXT    NOT NULL DEFAULT '',
    fired_at  BIGINT,
    UNIQUE (chat_id, feature, key)
);
CREATE INDEX timers_due ON timers (fired_at, due_at);
