//! The simulator's input language, one line per step:
//!
//! ```text
//! alice: 签到                 alice says something in the group (`\n` in the text: a line break)
//! alice (dm): /start          …or in a private chat with the bot
//! alice (to bob): /points +5  …or replying to bob's last message
//! alice (to #8): +1           …or replying to the bot's message #8
//! alice edits: new text       alice edits her last message
//! alice forwards: text        alice forwards a channel's post
//! alice sends a sticker       …or a gif, voice, video note, photo, video, audio, file
//! alice unmutes erin          alice (an admin) lifts erin's restriction in Telegram itself
//! alice presses +1            alice presses the button labelled "+1" on the bot's latest message with it
//! alice presses data "x" on #8 …or a button carrying data `x` on the bot's message #8, whatever
//!                             its buttons are now (a stale keyboard, a forged or garbled press)
//! carol joins                 carol joins the group (bob leaves: bob leaves)
//! :admin alice                alice becomes an admin (:owner alice makes her the owner)
//! :bot member / :bot admin    the bot loses (or gets back) its administrator rights
//! :reactions off              the group's admins allow no reactions (`:reactions 👍 🔥`: only
//!                             these; `:reactions all`, the default, every one)
//! :advance 1d2h               moves the clock (d, h, m, s), posting scheduled jobs on the way
//! :at 2026-03-01 23:59:58     sets the clock, in the group's time zone
//! :offline / :online          while offline, events wait in the inbox; :online handles the backlog
//! :migrate -1002              the group becomes a supergroup with a new id
//! :group -1003                what follows happens in another group
//! # a comment
//! ```

use chrono::{Duration, NaiveDateTime};

use crate::core::event::Media;
use crate::core::reactions::{AllowedReactions, is_reaction_emoji};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Say {
        who: String,
        text: String,
        private: bool,
        /// Replying to this member's last message.
        reply_to: Option<String>,
    },
    Edit {
        who: String,
        text: String,
    },
    /// A message forwarded from a channel.
    Forward {
        who: String,
        text: String,
    },
    /// `who` (an admin) lets `target` write again by hand, in Telegram's own member settings.
    LiftRestriction {
        who: String,
        target: String,
    },
    /// A sticker, a photo… without text.
    Media {
        who: String,
        media: Media,
    },
    Press {
        who: String,
        label: String,
    },
    /// A press carrying `data` on the bot's message `message`, whether or not any button of
    /// it carries that data (an old keyboard, a client's garbled or forged callback).
    PressData {
        who: String,
        data: String,
        message: i64,
    },
    Join {
        who: String,
    },
    Leave {
        who: String,
    },
    Admin {
        who: String,
        owner: bool,
    },
    /// The bot is an administrator (true, the default) or a plain member.
    BotAdmin(bool),
    /// The reactions the group's admins allow from now on.
    Reactions(AllowedReactions),
    Advance(Duration),
    At(NaiveDateTime),
    Offline,
    Online,
    Migrate(i64),
    /// Later lines happen in another group (by chat id).
    Group(i64),
    Help,
    Nothing,
}

pub fn parse(line: &str) -> Result<Step, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(Step::Nothing);
    }
    if let Some(directive) = line.strip_prefix(':') {
        return parse_directive(directive.trim());
    }
    // Accept the full-width colon Chinese keyboards type.
    if let Some(at) = line.find([':', '：']) {
        let (head, rest) = line.split_at(at);
        // `\n` stands for a line break, so one script line can carry a multi-line message.
        let text = rest[rest.chars().next().map_or(0, char::len_utf8)..]
            .trim()
            .replace("\\n", "\n");
        let head = head.trim();
        if let Some(who) = head.strip_suffix("(dm)") {
            return Ok(Step::Say {
                who: name(who)?,
                text,
                private: true,
                reply_to: None,
            });
        }
        if let Some((who, target)) = head.strip_suffix(')').and_then(|h| h.split_once("(to ")) {
            return Ok(Step::Say {
                who: name(who)?,
                text,
                private: false,
                reply_to: Some(name(target)?),
            });
        }
        if let Some(who) = head.strip_suffix(" forwards") {
            return Ok(Step::Forward {
                who: name(who)?,
                text,
            });
        }
        if let Some(who) = head.strip_suffix(" edits") {
            return Ok(Step::Edit {
                who: name(who)?,
                text,
            });
        }
        if !head.contains(char::is_whitespace) {
            return Ok(Step::Say {
                who: name(head)?,
                text,
                private: false,
                reply_to: None,
            });
        }
    }
    let mut words = line.split_whitespace();
    let who = words.next().unwrap_or_default();
    match (words.next(), words.collect::<Vec<_>>().join(" ")) {
        (Some("joins"), rest) if rest.is_empty() => Ok(Step::Join { who: name(who)? }),
        (Some("leaves"), rest) if rest.is_empty() => Ok(Step::Leave { who: name(who)? }),
        (Some("presses"), rest) if rest.starts_with("data ") => {
            let usage =
                || format!("cannot read `{line}`; try `{who} presses data \"relay:j:1\" on #8`");
            let quoted = rest["data ".len()..].trim_start();
            let (data, on) = quoted
                .strip_prefix('"')
                .and_then(|q| q.rsplit_once('"'))
                .ok_or_else(usage)?;
            let message = on
                .trim()
                .strip_prefix("on #")
                .and_then(|id| id.parse().ok())
                .ok_or_else(usage)?;
            Ok(Step::PressData {
                who: name(who)?,
                data: data.to_owned(),
                message,
            })
        }
        (Some("presses"), label) if !label.is_empty() => Ok(Step::Press {
            who: name(who)?,
            label,
        }),
        (Some("unmutes"), target) if !target.is_empty() => Ok(Step::LiftRestriction {
            who: name(who)?,
            target: name(&target)?,
        }),
        (Some("sends"), what) => {
            let what = what.trim_start_matches("a ").trim_start_matches("an ");
            let media = match what {
                "sticker" => Media::Sticker,
                "gif" | "animation" => Media::Animation,
                "voice" | "voice message" => Media::Voice,
                "video note" | "video_note" => Media::VideoNote,
                "photo" => Media::Photo,
                "video" => Media::Video,
                "audio" => Media::Audio,
                "file" | "document" => Media::Document,
                _ => {
                    return Err(format!(
                        "`{what}`: members can send a sticker, gif, voice, video note, photo, video, audio or file"
                    ));
                }
            };
            Ok(Step::Media {
                who: name(who)?,
                media,
            })
        }
        _ => Err(format!(
            "cannot read `{line}`; try `alice: 签到`, `carol joins` or `:help`"
        )),
    }
}

fn name(who: &str) -> Result<String, String> {
    let who = who.trim();
    if who.is_empty() || who.contains(char::is_whitespace) {
        Err(format!(
            "`{who}` is not a member name (one word, such as alice or 小王)"
        ))
    } else {
        Ok(who.to_owned())
    }
}

fn parse_directive(directive: &str) -> Result<Step, String> {
    let (word, rest) = directive
        .split_once(char::is_whitespace)
        .unwrap_or((directive, ""));
    let rest = rest.trim();
    match word {
        "advance" => parse_duration(rest).map(Step::Advance),
        "at" => NaiveDateTime::parse_from_str(rest, "%Y-%m-%d %H:%M:%S")
            .or_else(|_| NaiveDateTime::parse_from_str(rest, "%Y-%m-%d %H:%M"))
            .map(Step::At)
            .map_err(|_| format!("`:at {rest}`: expected a time such as 2026-03-01 23:59:58")),
        "admin" => Ok(Step::Admin {
            who: name(rest)?,
            owner: false,
        }),
        "owner" => Ok(Step::Admin {
            who: name(rest)?,
            owner: true,
        }),
        "bot" => match rest {
            "admin" => Ok(Step::BotAdmin(true)),
            "member" => Ok(Step::BotAdmin(false)),
            _ => Err(format!(
                "`:bot {rest}`: expected `:bot admin` or `:bot member`"
            )),
        },
        "reactions" => match rest {
            "all" => Ok(Step::Reactions(AllowedReactions::All)),
            "off" | "none" => Ok(Step::Reactions(AllowedReactions::none())),
            listed => {
                let emoji: Vec<String> = listed.split_whitespace().map(str::to_owned).collect();
                match emoji.iter().find(|e| !is_reaction_emoji(e)) {
                    _ if emoji.is_empty() => Err(
                        "`:reactions`: expected `all`, `off` or the emoji allowed, such as `:reactions 👍 🔥`"
                            .to_owned(),
                    ),
                    Some(unknown) => Err(format!(
                        "`{unknown}` is not a reaction Telegram has; it could not be allowed"
                    )),
                    None => Ok(Step::Reactions(AllowedReactions::Only(emoji))),
                }
            }
        },
        "offline" => Ok(Step::Offline),
        "online" => Ok(Step::Online),
        "migrate" => rest
            .parse()
            .map(Step::Migrate)
            .map_err(|_| format!("`:migrate {rest}`: expected the new chat id, such as -1002")),
        "group" => rest
            .parse()
            .map(Step::Group)
            .map_err(|_| format!("`:group {rest}`: expected a chat id, such as -1002")),
        "help" => Ok(Step::Help),
        _ => Err(format!("unknown directive `:{word}`; `:help` lists them")),
    }
}

/// `1d`, `2h30m`, `45s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::core::duration::parse(text)
        .ok_or_else(|| format!("`{text}` is not a duration; try 30s, 10m, 2h or 1d2h"))
}

pub const HELP: &str = "\
alice: 签到                 alice says something in the group (\\n: a line break)
alice (dm): /start          …or in a private chat with the bot
alice (to bob): thanks!     …or replying to bob's last message
alice (to #8): +1           …or replying to the bot's message #8
alice edits: new text       alice edits her last message
alice forwards: text        alice forwards a channel's post
alice sends a sticker       …or a gif, voice, video note, photo, video, audio, file
alice unmutes erin          alice (an admin) lifts erin's restriction in Telegram itself
alice presses +1            alice presses the button labelled +1
alice presses data \"x\" on #8 …a press with data x on the bot's message #8, buttons or not
carol joins / bob leaves    members come and go
:admin alice                alice becomes an admin (:owner alice, the owner)
:bot member / :bot admin    the bot loses (or gets back) its administrator rights
:reactions off              the group allows no reactions (:reactions 👍 🔥 only these, :reactions all)
:advance 1d2h               moves the clock (d, h, m, s), posting scheduled jobs on the way
:at 2026-03-01 23:59:58     sets the clock, in the group's time zone
:offline / :online          hold events in the inbox, then handle the backlog
:migrate -1002              the group becomes a supergroup with a new id
:group -1003                what follows happens in another group";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_kind_of_line() {
        assert_eq!(
            parse("小王：签到").unwrap(),
            Step::Say {
                who: "小王".into(),
                text: "签到".into(),
                private: false,
                reply_to: None
            }
        );
        assert_eq!(
            parse("alice (dm): /start").unwrap(),
            Step::Say {
                who: "alice".into(),
                text: "/start".into(),
                private: true,
                reply_to: None
            }
        );
        assert_eq!(
            parse("bob: a: b").unwrap(),
            Step::Say {
                who: "bob".into(),
                text: "a: b".into(),
                private: false,
                reply_to: None
            }
        );
        assert_eq!(
            parse("ann (to bob): /points +5").unwrap(),
            Step::Say {
                who: "ann".into(),
                text: "/points +5".into(),
                private: false,
                reply_to: Some("bob".into())
            }
        );
        assert_eq!(
            parse("ann: 接龙 爬山\\n上限 3").unwrap(),
            Step::Say {
                who: "ann".into(),
                text: "接龙 爬山\n上限 3".into(),
                private: false,
                reply_to: None
            }
        );
        assert_eq!(
            parse("ann (to #8): +1").unwrap(),
            Step::Say {
                who: "ann".into(),
                text: "+1".into(),
                private: false,
                reply_to: Some("#8".into())
            }
        );
        assert_eq!(
            parse("alice edits: hi").unwrap(),
            Step::Edit {
                who: "alice".into(),
                text: "hi".into()
            }
        );
        assert_eq!(
            parse("carol joins").unwrap(),
            Step::Join {
                who: "carol".into()
            }
        );
        assert_eq!(
            parse("carol presses data \"relay:j:9\" on #8").unwrap(),
            Step::PressData {
                who: "carol".into(),
                data: "relay:j:9".into(),
                message: 8
            }
        );
        assert_eq!(
            parse("carol presses data \"\" on #3").unwrap(),
            Step::PressData {
                who: "carol".into(),
                data: String::new(),
                message: 3
            }
        );
        assert!(parse("carol presses data xyz on #8").is_err());
        assert!(parse("carol presses data \"xyz\" on 8").is_err());
        assert_eq!(
            parse("carol presses +1").unwrap(),
            Step::Press {
                who: "carol".into(),
                label: "+1".into()
            }
        );
        assert_eq!(
            parse(":advance 1d2h").unwrap(),
            Step::Advance(Duration::hours(26))
        );
        assert_eq!(parse("# hi").unwrap(), Step::Nothing);
        assert!(parse("carol dances").is_err());
        assert!(parse(":advance soon").is_err());
        assert!(parse(":advance 0s").is_err());
        assert!(parse(":fly").is_err());
        assert_eq!(
            parse(":reactions off").unwrap(),
            Step::Reactions(AllowedReactions::none())
        );
        assert_eq!(
            parse(":reactions 👍 🔥").unwrap(),
            Step::Reactions(AllowedReactions::Only(vec!["👍".into(), "🔥".into()]))
        );
        assert!(
            parse(":reactions ❌").is_err(),
            "Telegram has no ❌ reaction"
        );
    }
}
