//! Handler names: the bot command, or a name the caller chooses ([`HandlerNamer`]).

use std::fmt;
use std::sync::Arc;

use super::{ChatType, UpdateKind};

/// Longest command name recognised (Telegram allows 32 for registered commands; users can
/// type longer ones, and 64 is the longest policy name).
const MAX_COMMAND: usize = 64;

/// The bot command at the start of `text`, lower-cased, without the `@botname` suffix.
///
/// A command is `/` followed by 1–64 characters of `[A-Za-z0-9_]`, ended by whitespace, `@`
/// or the end of the text. Anything else is not a command.
///
/// ```
/// use sentinel_telegram::update::command_name;
/// assert_eq!(command_name("/start@MyBot deep-link").as_deref(), Some("start"));
/// assert_eq!(command_name("/Help").as_deref(), Some("help"));
/// assert_eq!(command_name("hello /start"), None);
/// assert_eq!(command_name("/"), None);
/// assert_eq!(command_name("/späť"), None);
/// ```
pub fn command_name(text: &str) -> Option<String> {
    let rest = text.strip_prefix('/')?;
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '@')
        .unwrap_or(rest.len());
    let name = &rest[..end];
    let valid = !name.is_empty()
        && name.len() <= MAX_COMMAND
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    valid.then(|| name.to_ascii_lowercase())
}

/// What a [`HandlerNamer`] sees of an update. Borrowed; nothing is kept.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct HandlerContext<'a> {
    /// The update type.
    pub kind: &'a UpdateKind,
    /// The bot command ([`command_name`]) of a message's text, if any.
    pub command: Option<&'a str>,
    /// A message's text or caption.
    pub text: Option<&'a str>,
    /// A callback query's data.
    pub callback_data: Option<&'a str>,
    /// An inline query's text.
    pub inline_query: Option<&'a str>,
    /// The chat type.
    pub chat_type: Option<&'a ChatType>,
    /// The user id (see [`UpdateInfo::user_id`](super::UpdateInfo::user_id)).
    pub user_id: Option<i64>,
    /// The chat id.
    pub chat_id: Option<i64>,
}

type NameFn = dyn Fn(&HandlerContext<'_>) -> Option<String> + Send + Sync;

#[derive(Clone)]
enum Inner {
    Command,
    CommandOrKind,
    Nothing,
    Custom(Arc<NameFn>),
}

/// Picks the handler name of an update, which selects its policy in the
/// [`PolicyRegistry`](sentinel_core::PolicyRegistry).
///
/// The default, [`HandlerNamer::command`], names an update by its bot command
/// (`/start@mybot x` → `start`); updates without one get the default policy.
///
/// ```
/// use sentinel_telegram::update::{Extractor, HandlerNamer, UpdateKind};
///
/// // Button presses whose data starts with "vote:" share the "vote" policy.
/// let namer = HandlerNamer::custom(|cx| match cx.callback_data {
///     Some(d) if d.starts_with("vote:") => Some("vote".to_owned()),
///     _ => cx.command.map(str::to_owned),
/// });
/// let info = Extractor::new().with_namer(namer).from_slice(br#"{"update_id":1,
///   "callback_query":{"id":"7","from":{"id":5,"is_bot":false,"first_name":"A"},
///   "chat_instance":"x","data":"vote:42"}}"#)?;
/// assert_eq!(info.handler.as_deref(), Some("vote"));
/// # Ok::<(), sentinel_telegram::update::ParseError>(())
/// ```
#[derive(Clone)]
pub struct HandlerNamer(Inner);

impl HandlerNamer {
    /// The bot command, or no name (the default policy).
    pub const fn command() -> Self {
        Self(Inner::Command)
    }

    /// The bot command, else the update type (`message`, `callback_query`, …): lets a
    /// registry give button presses or inline queries their own policy.
    pub const fn command_or_kind() -> Self {
        Self(Inner::CommandOrKind)
    }

    /// No name: every update gets the default policy.
    pub const fn none() -> Self {
        Self(Inner::Nothing)
    }

    /// A name chosen by `f`; `None` selects the default policy.
    pub fn custom<F>(f: F) -> Self
    where
        F: Fn(&HandlerContext<'_>) -> Option<String> + Send + Sync + 'static,
    {
        Self(Inner::Custom(Arc::new(f)))
    }

    /// The name for `cx`.
    pub fn name(&self, cx: &HandlerContext<'_>) -> Option<String> {
        match &self.0 {
            Inner::Command => cx.command.map(str::to_owned),
            Inner::CommandOrKind => cx
                .command
                .or_else(|| Some(cx.kind.as_str()).filter(|k| !k.is_empty()))
                .map(str::to_owned),
            Inner::Nothing => None,
            Inner::Custom(f) => f(cx),
        }
    }
}

impl Default for HandlerNamer {
    fn default() -> Self {
        Self::command()
    }
}

impl fmt::Debug for HandlerNamer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Inner::Command => "HandlerNamer::command",
            Inner::CommandOrKind => "HandlerNamer::command_or_kind",
            Inner::Nothing => "HandlerNamer::none",
            Inner::Custom(_) => "HandlerNamer::custom(..)",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands() {
        let cases = [
            ("/start", Some("start")),
            ("/START@SomeBot", Some("start")),
            ("/start@bot payload with spaces", Some("start")),
            ("/start\nnext line", Some("start")),
            ("/get_info_2", Some("get_info_2")),
            ("/a-b", None),
            ("//start", None),
            ("/@bot", None),
            (" /start", None),
            ("start", None),
            ("", None),
            ("/", None),
        ];
        for (text, want) in cases {
            assert_eq!(command_name(text).as_deref(), want, "{text:?}");
        }
        assert_eq!(
            command_name(&format!("/{}", "a".repeat(64))).map(|s| s.len()),
            Some(64)
        );
        assert_eq!(command_name(&format!("/{}", "a".repeat(65))), None);
    }

    #[test]
    fn namers() {
        let kind = UpdateKind::CallbackQuery;
        let mut cx = HandlerContext {
            kind: &kind,
            command: None,
            text: None,
            callback_data: Some("x"),
            inline_query: None,
            chat_type: None,
            user_id: Some(1),
            chat_id: None,
        };
        assert_eq!(HandlerNamer::command().name(&cx), None);
        assert_eq!(
            HandlerNamer::command_or_kind().name(&cx).as_deref(),
            Some("callback_query")
        );
        cx.command = Some("start");
        assert_eq!(HandlerNamer::command().name(&cx).as_deref(), Some("start"));
        assert_eq!(
            HandlerNamer::command_or_kind().name(&cx).as_deref(),
            Some("start")
        );
        assert_eq!(HandlerNamer::none().name(&cx), None);
        let custom = HandlerNamer::custom(|cx| cx.callback_data.map(|d| format!("cb_{d}")));
        assert_eq!(custom.name(&cx).as_deref(), Some("cb_x"));
        assert_eq!(format!("{custom:?}"), "HandlerNamer::custom(..)");
    }
}
