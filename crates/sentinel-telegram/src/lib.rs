//! The Telegram side of sentinel: turning updates into [`sentinel_core::Event`]s, a guard for
//! teloxide bots, and a Bot API sender that stays within Telegram's limits.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod guard;
pub mod html;
pub mod metrics;
pub mod reachability;
pub mod sender;
pub mod split;
#[cfg(feature = "teloxide")]
pub mod teloxide;
pub mod update;
pub mod webhook;
