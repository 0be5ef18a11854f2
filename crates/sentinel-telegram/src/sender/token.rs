//! [`BotToken`]: the bot's secret, which never shows up in `Debug`, `Display`, logs or errors.

use std::fmt;

/// A bot token (`<bot id>:<secret>`, as @BotFather hands it out).
///
/// `Debug` and `Display` show only the bot id; the secret is reachable only through
/// [`BotToken::expose_secret`].
///
/// ```
/// use sentinel_telegram::sender::BotToken;
/// let token = BotToken::new("123456:AAE-secret_part")?;
/// assert_eq!(token.bot_id(), 123456);
/// assert_eq!(token.to_string(), "123456:<redacted>");
/// assert!(!format!("{token:?}").contains("AAE-secret_part"));
/// # Ok::<(), sentinel_telegram::sender::InvalidToken>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct BotToken {
    token: String,
    bot_id: u64,
}

/// A string that is not a bot token. Says why without repeating the string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a bot token (expected `<digits>:<letters, digits, _ or ->`)")]
pub struct InvalidToken;

impl BotToken {
    /// Checks the shape `<digits>:<A-Z a-z 0-9 _ ->` (the characters that can appear in a
    /// token, so it is safe in a URL path).
    ///
    /// # Errors
    /// [`InvalidToken`] for anything else.
    pub fn new(token: impl Into<String>) -> Result<Self, InvalidToken> {
        let token = token.into();
        let (id, secret) = token.split_once(':').ok_or(InvalidToken)?;
        let bot_id = if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
            id.parse::<u64>().map_err(|_| InvalidToken)?
        } else {
            return Err(InvalidToken);
        };
        if secret.is_empty()
            || !secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(InvalidToken);
        }
        Ok(Self { token, bot_id })
    }

    /// The bot's user id (the part before `:`), which is not secret.
    pub fn bot_id(&self) -> u64 {
        self.bot_id
    }

    /// The whole token. Handle with care: never log it.
    pub fn expose_secret(&self) -> &str {
        &self.token
    }

    /// Replaces every occurrence of the token (and of its secret part) in `text` with
    /// `<redacted>`.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut out = text.replace(&self.token, "<redacted>");
        if let Some((_, secret)) = self.token.split_once(':') {
            out = out.replace(secret, "<redacted>");
        }
        out
    }
}

impl fmt::Debug for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BotToken({}:<redacted>)", self.bot_id)
    }
}

impl fmt::Display for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:<redacted>", self.bot_id)
    }
}

impl std::str::FromStr for BotToken {
    type Err = InvalidToken;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_shape() {
        assert!(BotToken::new("1:a").is_ok());
        for bad in [
            "", ":", "1:", ":abc", "x1:abc", "1:ab/c", "1:ab c", "1:ab?c", "abc",
        ] {
            assert_eq!(BotToken::new(bad), Err(InvalidToken), "{bad:?}");
        }
        assert!(!InvalidToken.to_string().contains("x1"));
    }

    #[test]
    fn scrubs_token_and_secret() {
        let t = BotToken::new("42:SeCrEt").unwrap();
        assert_eq!(
            t.scrub("url /bot42:SeCrEt/getMe and SeCrEt"),
            "url /bot<redacted>/getMe and <redacted>"
        );
    }
}
