//! A chat port that records what it is asked to do.

use std::sync::Mutex;

use async_trait::async_trait;
use qunbot::core::action::{Action, Admin, ChatPort, Delivered, PortError};
use qunbot::core::event::ChatId;

#[derive(Default)]
pub struct RecordingPort {
    pub actions: Mutex<Vec<Action>>,
    pub admins: Mutex<Vec<Admin>>,
    /// Errors to return for the next calls, in order.
    pub failures: Mutex<Vec<PortError>>,
    next_id: Mutex<i64>,
}

impl RecordingPort {
    pub fn actions(&self) -> Vec<Action> {
        self.actions.lock().unwrap().clone()
    }

    pub fn texts(&self) -> Vec<String> {
        self.actions()
            .into_iter()
            .filter_map(|action| match action {
                Action::Send { text, .. } | Action::Edit { text, .. } => Some(text),
                _ => None,
            })
            .collect()
    }
}

#[async_trait]
impl ChatPort for RecordingPort {
    async fn execute(&self, action: &Action) -> Result<Delivered, PortError> {
        {
            let mut failures = self.failures.lock().unwrap();
            if !failures.is_empty() {
                return Err(failures.remove(0));
            }
        }
        self.actions.lock().unwrap().push(action.clone());
        Ok(match action {
            Action::Send { .. } => {
                let mut next = self.next_id.lock().unwrap();
                *next += 1;
                Delivered::Message(1000 + *next)
            }
            _ => Delivered::Done,
        })
    }

    async fn administrators(&self, _chat: ChatId) -> Result<Vec<Admin>, PortError> {
        Ok(self.admins.lock().unwrap().clone())
    }
}
