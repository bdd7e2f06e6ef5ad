//! Which list a member's line goes to when it does not reply to one: the list a message or a
//! button belongs to, and, with several lists open, the "which list?" question with a button
//! per list (its `ask:<message>` timer holds the waiting line) and the answer to it.

use chrono::Duration;
use minijinja::context;

use super::entries::{join, leave};
use super::queries::{self, List};
use super::{FEATURE, Via, parse};
use crate::core::action::{Action, MessageRef};
use crate::core::context::Cx;
use crate::core::event::{MessageId, User};
use crate::core::feature::FeatureResult;

/// `relay:<action>:<list id>`.
pub(super) fn parse_button(data: &str) -> Option<(&str, i64)> {
    let rest = data.strip_prefix("relay:")?;
    let (action, id) = rest.split_once(':')?;
    Some((action, id.parse().ok()?))
}

pub(super) async fn list_of_message(
    cx: &mut Cx<'_>,
    message: MessageId,
) -> FeatureResult<Option<List>> {
    let chat = cx.chat();
    let Some(id) = queries::list_of_message(cx.tx, chat, message).await? else {
        return Ok(None);
    };
    Ok(queries::list(cx.tx, id).await?)
}

/// The list the member's message replies to, if it replies to one.
pub(super) async fn replied_list(cx: &mut Cx<'_>) -> FeatureResult<Option<List>> {
    match cx.event.message().and_then(|m| m.reply_to) {
        Some(replied) => list_of_message(cx, replied).await,
        None => Ok(None),
    }
}

/// How long the question "which list?" waits for its answer.
const ASK_MINUTES: i64 = 10;
/// Lists offered as buttons at most (the newest).
const ASK_LISTS: usize = 6;

/// The key of the question asked about message `message`.
pub(super) fn ask_key(message: MessageId) -> String {
    format!("relayask:{message}")
}

/// A member's line sent to the group rather than in reply to a list (`接龙 张三`, `+1`,
/// `/join 张三`): with one open list it joins that one; with several the member is asked which,
/// one button per list, and the line waits (in the question's timer) for the press.
pub(super) async fn join_without_reply(
    cx: &mut Cx<'_>,
    open: &[List],
    member: &User,
    text: &str,
    message: MessageId,
) -> FeatureResult {
    if let [list] = open {
        return join(cx, list, member, text, Via::Message(message)).await;
    }
    let text: String = text.trim().chars().take(parse::MAX_TEXT_CHARS).collect();
    let due = cx.event.at + Duration::minutes(ASK_MINUTES);
    cx.set_timer(
        FEATURE,
        &format!("ask:{message}"),
        due,
        &format!("{}\n{text}", member.id),
    )
    .await?;
    let buttons = choices(open, |list| format!("relay:p:{}:{message}", list.id));
    let question = cx.text("relay.which_list", context! { text => &text });
    let chat = cx.chat();
    cx.queue(Action::Send {
        chat,
        text: question,
        reply_to: Some(message),
        thread: cx.thread(),
        key: Some(ask_key(message)),
        buttons,
    });
    Ok(())
}

/// One button per list, the newest first, labelled with the first line of its title.
fn choices(
    lists: &[List],
    data: impl Fn(&List) -> String,
) -> Vec<Vec<crate::core::action::Button>> {
    lists
        .iter()
        .take(ASK_LISTS)
        .filter_map(|list| {
            let title = list.title.lines().next().unwrap_or_default();
            let label: String = title.chars().take(30).collect();
            crate::core::action::Button::new(label, data(list)).map(|button| vec![button])
        })
        .collect()
}

/// The member picked a list for the line they sent: `<list>:<message>`.
pub(super) async fn pick(
    cx: &mut Cx<'_>,
    picked: &str,
    from: &User,
    callback_id: String,
) -> FeatureResult {
    let via = Via::Button(callback_id);
    let Some((list, message)) = picked.split_once(':').and_then(|(list, message)| {
        Some((
            list.parse::<i64>().ok()?,
            message.parse::<MessageId>().ok()?,
        ))
    }) else {
        return Ok(());
    };
    let chat = cx.chat();
    let key = format!("ask:{message}");
    let Some(payload) = crate::store::timers::pending_payload(cx.tx, chat, FEATURE, &key).await?
    else {
        let text = cx.text("relay.pick_expired", context! {});
        via.tell(cx, text, false);
        return Ok(());
    };
    let (asker, text) = payload.split_once('\n').unwrap_or((payload.as_str(), ""));
    if asker.parse::<i64>().ok() != Some(from.id) {
        let text = cx.text("relay.pick_not_yours", context! {});
        via.tell(cx, text, false);
        return Ok(());
    }
    let text = text.to_owned();
    let Some(list) = queries::list(cx.tx, list)
        .await?
        .filter(|l| l.chat_id == chat)
    else {
        return Ok(());
    };
    cx.cancel_timer(FEATURE, &key).await?;
    cx.queue(Action::Delete {
        chat,
        message: MessageRef::Key(ask_key(message)),
    });
    join(cx, &list, from, &text, via).await
}

/// `/leave` sent to the group: the list the member is on; asked which when several.
pub(super) async fn leave_without_reply(cx: &mut Cx<'_>, member: &User, via: Via) -> FeatureResult {
    let chat = cx.chat();
    let open = queries::open_lists(cx.tx, chat).await?;
    if open.is_empty() {
        let text = cx.text("relay.no_open_list", context! {});
        via.tell(cx, text, false);
        return Ok(());
    }
    let mut mine = Vec::new();
    for list in open {
        if queries::latest_of(cx.tx, list.id, member.id)
            .await?
            .is_some()
        {
            mine.push(list);
        }
    }
    match mine.as_slice() {
        [] => {
            let text = cx.text("relay.not_on_any_list", context! {});
            via.tell(cx, text, false);
            Ok(())
        }
        [list] => leave(cx, list, member, via).await,
        lists => {
            // The ➖ buttons of the lists themselves: each takes its presser's own line off.
            let buttons = choices(lists, |list| format!("relay:l:{}", list.id));
            let text = cx.text("relay.which_list_leave", context! {});
            let key = match via.message() {
                Some(message) => {
                    // The question goes after a while, like the one about joining.
                    let due = cx.event.at + Duration::minutes(ASK_MINUTES);
                    cx.set_timer(FEATURE, &format!("ask:{message}"), due, "")
                        .await?;
                    Some(ask_key(message))
                }
                None => None,
            };
            cx.queue(Action::Send {
                chat,
                text,
                reply_to: via.message(),
                thread: cx.thread(),
                key,
                buttons,
            });
            Ok(())
        }
    }
}
