//! Reactions Telegram takes, the ones a chat allows, and what stands in for a reaction that a
//! chat does not allow.
//!
//! `setMessageReaction` refuses (`400 REACTION_INVALID`) an emoji outside the Bot API's list,
//! and one outside the chat's `available_reactions` (its admins may allow only some, or none).
//! Features ask for the reaction that says what they mean; delivery (`core::delivery`) makes
//! that one, another of the same meaning the chat allows, or, for a reaction that was a
//! refusal's only answer, the text it carries as a reply.

/// Every emoji `ReactionTypeEmoji` may carry, in the reference's order (Bot API 10.1,
/// `tests/fixtures/telegram-bot-api-spec.json`; `tests/reactions.rs` checks the two agree).
/// Written as Telegram writes them: "❤" and "✍" without the emoji variation selector.
pub const REACTION_EMOJI: &[&str] = &[
    "❤",
    "👍",
    "👎",
    "🔥",
    "🥰",
    "👏",
    "😁",
    "🤔",
    "🤯",
    "😱",
    "🤬",
    "😢",
    "🎉",
    "🤩",
    "🤮",
    "💩",
    "🙏",
    "👌",
    "🕊",
    "🤡",
    "🥱",
    "🥴",
    "😍",
    "🐳",
    "❤‍🔥",
    "🌚",
    "🌭",
    "💯",
    "🤣",
    "⚡",
    "🍌",
    "🏆",
    "💔",
    "🤨",
    "😐",
    "🍓",
    "🍾",
    "💋",
    "🖕",
    "😈",
    "😴",
    "😭",
    "🤓",
    "👻",
    "👨‍💻",
    "👀",
    "🎃",
    "🙈",
    "😇",
    "😨",
    "🤝",
    "✍",
    "🤗",
    "🫡",
    "🎅",
    "🎄",
    "☃",
    "💅",
    "🤪",
    "🗿",
    "🆒",
    "💘",
    "🙉",
    "🦄",
    "😘",
    "💊",
    "🙊",
    "😎",
    "👾",
    "🤷‍♂",
    "🤷",
    "🤷‍♀",
    "😡",
];

/// Whether Telegram takes `emoji` as a reaction at all.
pub fn is_reaction_emoji(emoji: &str) -> bool {
    REACTION_EMOJI.contains(&emoji)
}

/// Reactions that acknowledge ("done", "noted"), in the order they stand in for each other.
const ACKNOWLEDGING: &[&str] = &["👍", "👌", "❤", "🔥", "👏", "🫡", "✍", "💯", "🤝"];

/// Reactions that refuse ("no", "can't"), in the order they stand in for each other. Never
/// mixed with the acknowledging ones: a 👍 on a wrong answer would say it was right.
const REFUSING: &[&str] = &["👎", "🤷", "🙈", "🤔", "😢"];

/// The reactions that mean what `wanted` means, best first (`wanted` among them), or none
/// when qunbot knows no other reaction that says the same.
pub fn same_meaning(wanted: &str) -> &'static [&'static str] {
    [ACKNOWLEDGING, REFUSING]
        .into_iter()
        .find(|family| family.contains(&wanted))
        .unwrap_or(&[])
}

/// The reactions a chat allows: `available_reactions` of Telegram's `ChatFullInfo`, where an
/// omitted list means every emoji and an empty one none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AllowedReactions {
    #[default]
    All,
    /// Only these emoji (custom emoji the admins allow are left out: the bot sends none).
    Only(Vec<String>),
}

impl AllowedReactions {
    /// No reaction at all.
    pub fn none() -> AllowedReactions {
        AllowedReactions::Only(Vec::new())
    }

    pub fn allows(&self, emoji: &str) -> bool {
        is_reaction_emoji(emoji)
            && match self {
                AllowedReactions::All => true,
                AllowedReactions::Only(allowed) => allowed.iter().any(|e| e == emoji),
            }
    }

    /// The reaction to make for `wanted` here: itself if allowed, else the first allowed one
    /// of the same meaning; `None` when the chat allows none that says the same.
    pub fn choose(&self, wanted: &str) -> Option<&'static str> {
        let wanted = REACTION_EMOJI.iter().find(|emoji| **emoji == wanted);
        wanted
            .into_iter()
            .chain(same_meaning(wanted.copied().unwrap_or_default()))
            .copied()
            .find(|emoji| self.allows(emoji))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stand_in_is_a_reaction_telegram_takes() {
        for emoji in ACKNOWLEDGING.iter().chain(REFUSING) {
            assert!(
                is_reaction_emoji(emoji),
                "{emoji} is not in the Bot API's list"
            );
        }
    }

    #[test]
    fn the_wanted_reaction_or_one_of_the_same_meaning_or_none() {
        let all = AllowedReactions::All;
        assert_eq!(all.choose("👎"), Some("👎"));
        assert_eq!(all.choose("❌"), None, "Telegram refuses ❌ in every chat");
        let some = AllowedReactions::Only(vec!["🔥".into(), "🤔".into()]);
        assert_eq!(some.choose("👍"), Some("🔥"));
        assert_eq!(some.choose("👎"), Some("🤔"), "a refusal stays a refusal");
        let hearts = AllowedReactions::Only(vec!["❤".into()]);
        assert_eq!(hearts.choose("👎"), None, "never a ❤ for a wrong answer");
        assert_eq!(AllowedReactions::none().choose("👍"), None);
        assert_eq!(
            AllowedReactions::Only(vec!["🤡".into()]).choose("🤡"),
            Some("🤡"),
            "an emoji of no known family is made where allowed"
        );
    }
}
