//! The command line, declared with clap's derive.

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use sentinel_core::Subject;

/// Exit codes, printed at the end of `sentinel --help`.
pub(crate) const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the operation failed (alerts verify found a problem, a store refused the request, ...)
  2  usage or configuration error (bad arguments, missing or invalid REDIS_URL or TELEMON_*)
  3  the store is unreachable (Redis down, timed out, wrong host or credentials)

Passwords in Redis URLs and bot tokens are never printed, errors included.";

/// Administer sentinel's Redis store (blocks, limits, forgetting users) and check telemon
/// alert delivery.
#[derive(Debug, Parser)]
#[command(name = "sentinel", version, after_help = EXIT_CODES, after_long_help = EXIT_CODES)]
pub(crate) struct Cli {
    /// Redis URL (`redis://`, `rediss://`); with --cluster, a comma-separated list of seed
    /// nodes. The password in it is never printed.
    #[arg(long, env = "REDIS_URL", global = true, hide_env_values = true)]
    pub(crate) redis_url: Option<String>,

    /// The key prefix the application uses (`SentinelBuilder::prefix`).
    #[arg(
        long,
        env = "SENTINEL_PREFIX",
        default_value = "sentinel",
        global = true
    )]
    pub(crate) prefix: String,

    /// The URL names Redis Cluster seed nodes.
    #[arg(long, env = "SENTINEL_REDIS_CLUSTER", global = true)]
    pub(crate) cluster: bool,

    /// Connect and command timeout, e.g. `5s`, `500ms`.
    #[arg(long, default_value = "5s", value_parser = parse_duration, global = true)]
    pub(crate) timeout: Duration,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Block a user or a chat: every update from it is refused until the block ends.
    #[command(after_help = EXIT_CODES)]
    Block {
        #[command(flatten)]
        subject: SubjectArg,
        /// How long, e.g. `1h30m`, `7d`, `90s`; without it, until `sentinel unblock`.
        #[arg(long = "for", value_parser = parse_duration)]
        duration: Option<Duration>,
        /// Why (shown by `sentinel blocked`).
        #[arg(long, default_value = "blocked by an admin")]
        reason: String,
        /// Who blocked (shown by `sentinel blocked`).
        #[arg(long, default_value = "sentinel-cli")]
        by: String,
    },
    /// Lift the block on a user or a chat.
    #[command(after_help = EXIT_CODES)]
    Unblock {
        #[command(flatten)]
        subject: SubjectArg,
    },
    /// List every block in force, as a table or as JSON.
    #[command(after_help = EXIT_CODES)]
    Blocked {
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show what the store holds about a user or a chat: its block and every key of it.
    #[command(after_help = EXIT_CODES)]
    Peek {
        #[command(flatten)]
        subject: SubjectArg,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Clear the rate-limit state and strikes of a user or a chat (its block stays).
    #[command(after_help = EXIT_CODES)]
    Reset {
        #[command(flatten)]
        subject: SubjectArg,
        /// Only this policy's state (the policy name, `_` for the default policy).
        #[arg(long)]
        policy: Option<String>,
    },
    /// Delete every key of a user or a chat: rate limits, debounce fingerprints, strikes,
    /// blocks. A user's keys include the user in every chat; a chat's, every user in it.
    #[command(after_help = EXIT_CODES)]
    Forget {
        #[command(flatten)]
        subject: SubjectArg,
    },
    /// Check that Redis answers (PING, on every master of a Cluster).
    #[command(after_help = EXIT_CODES)]
    Ping,
    /// Telegram alerts (telemon), configured from the TELEMON_* environment variables.
    #[command(after_help = EXIT_CODES)]
    Alerts {
        #[command(subcommand)]
        command: AlertsCommand,
    },
}

/// `sentinel alerts ...`
#[derive(Debug, Subcommand)]
pub(crate) enum AlertsCommand {
    /// Check the bot token, every destination chat, the bot's membership and right to post,
    /// and forum threads; sends nothing.
    #[command(after_help = EXIT_CODES)]
    Verify,
    /// `verify`, then send one test alert to the Critical destination.
    #[command(after_help = EXIT_CODES)]
    Test {
        /// The test message's title.
        #[arg(long, default_value = "sentinel alerts test: delivery works")]
        title: String,
    },
}

/// Whose keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SubjectKind {
    /// A Telegram user id.
    User,
    /// A Telegram chat id (groups are negative, e.g. -1001234567890).
    Chat,
}

/// `<user|chat> ID`.
#[derive(Debug, Args)]
pub(crate) struct SubjectArg {
    /// `user` or `chat`.
    #[arg(value_enum)]
    pub(crate) kind: SubjectKind,
    /// The Telegram id.
    #[arg(allow_negative_numbers = true)]
    pub(crate) id: i64,
}

impl SubjectArg {
    pub(crate) fn subject(&self) -> Subject {
        match self.kind {
            SubjectKind::User => Subject::User(self.id),
            SubjectKind::Chat => Subject::Chat(self.id),
        }
    }
}

/// `1h30m`, `90s`, `500ms` (humantime); zero is refused.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s)
        .map_err(|e| format!("{e}: use a duration such as 90s, 15m, 1h30m or 7d"))?;
    if d.is_zero() {
        return Err("must be longer than zero".to_owned());
    }
    Ok(d)
}
