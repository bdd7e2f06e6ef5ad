-- Word games (成语接龙, the English word chain, guessing rounds). One live game per chat: the
-- partial unique index refuses a second. A game's moves are unique per turn (only the first
-- valid answer of a turn counts, whatever races) and per word (no word twice in one game).
CREATE TABLE games (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id     INTEGER NOT NULL,
    -- 'idiom' or 'word' (chains); 'meaning', 'emoji', 'xiehouyu' or 'anagram' (guessing rounds)
    kind        TEXT    NOT NULL,
    -- Chains: the link mode. Rounds: the answer(s), '|'-separated.
    rule        TEXT    NOT NULL,
    -- Chains: the word to link to. Rounds: the question.
    current     TEXT    NOT NULL,
    turn        INTEGER NOT NULL DEFAULT 0,
    started_by  INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    ends_at     INTEGER NOT NULL,
    thread_id   INTEGER,
    hints_used  INTEGER NOT NULL DEFAULT 0,
    -- How many turns in a row the bot has played itself (it plays once, then gives up).
    bot_moves   INTEGER NOT NULL DEFAULT 0,
    ended_at    INTEGER,
    end_reason  TEXT
);
CREATE UNIQUE INDEX games_one_live ON games (chat_id) WHERE ended_at IS NULL;

CREATE TABLE game_moves (
    game_id     INTEGER NOT NULL,
    turn        INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    word        TEXT    NOT NULL,
    message_id  INTEGER,
    at          INTEGER NOT NULL,
    -- Links in a row by the same player, this one included.
    combo       INTEGER NOT NULL,
    points      INTEGER NOT NULL,
    by_bot      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (game_id, turn),
    UNIQUE (game_id, word)
);
