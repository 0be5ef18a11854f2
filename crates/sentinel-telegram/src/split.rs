//! Splitting long texts into messages Telegram accepts (≤ [`MAX_MESSAGE_LEN`] each).
//!
//! ## What is counted
//! Telegram limits a message to 4096 characters **after entity parsing** (tags removed,
//! `&amp;` counted as one character); the Bot API server counts Unicode code points. This
//! module counts, conservatively, the **UTF-16 code units of the raw string**, tags and entities
//! included ([`utf16_len`]). That count is never below the parsed length (a tag or an entity is
//! longer raw than parsed, and a code point is one or two UTF-16 units), so every part is
//! accepted whichever way Telegram counts, at the price of parts a little shorter than
//! necessary when the text has many tags.
//!
//! ## Where it cuts
//! At the last line break that fits; failing that at the last whitespace; failing that
//! anywhere between two characters. Never inside a multi-byte character (parts are `str`
//! slices), and for HTML never inside a tag or an entity.
//!
//! ## HTML
//! [`split_html`] keeps tags balanced in every part: the tags open at a cut are closed at the
//! end of the part and reopened (with their attributes) at the start of the next. Each
//! [`HtmlPart`] tells which bytes of the input it carries and which tags it added, so
//! "parts minus the added tags concatenate back to the input" is checkable.
//!
//! ```
//! use sentinel_telegram::split::{split_html, split_plain};
//!
//! let plain = "first line\nsecond line\n";
//! assert_eq!(split_plain(plain, 16), vec!["first line\n", "second line\n"]);
//!
//! let html = "<b>bold line one\nbold line two</b>";
//! let parts = split_html(html, 24).unwrap();
//! assert_eq!(parts[0].as_str(), "<b>bold line one\n</b>");
//! assert_eq!(parts[1].as_str(), "<b>bold line two</b>");
//! assert_eq!(parts.iter().map(|p| p.body()).collect::<String>(), html);
//! ```

use std::ops::Range;

/// The longest message text Telegram accepts, in characters after entity parsing.
pub const MAX_MESSAGE_LEN: usize = 4096;

/// The longest a tag or entity may be while still being recognised as one (longer `&…;` runs
/// are plain text).
const MAX_ENTITY_LEN: usize = 32;

/// The length this module measures: UTF-16 code units of the raw string.
///
/// ```
/// use sentinel_telegram::split::utf16_len;
/// assert_eq!(utf16_len("aé👍"), 4); // 1 + 1 + 2 (a surrogate pair)
/// ```
pub fn utf16_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// A part of a split text that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SplitError {
    /// The tags that must be reopened and closed around the text at byte `offset`, plus the
    /// tag there, do not fit in `max` UTF-16 units (absurdly deep nesting or a huge `href`).
    #[error(
        "the markup at byte {offset} with the tags it must reopen and close does not fit in {max} UTF-16 units"
    )]
    MarkupTooLong {
        /// Byte offset in the input.
        offset: usize,
        /// The part size asked for.
        max: usize,
    },
}

/// Splits plain text (no `parse_mode`) into parts of at most `max` UTF-16 units (at least 2,
/// so a surrogate pair always fits; smaller values are raised to 2). The parts concatenate
/// exactly to `text`. An empty text gives no parts.
///
/// ```
/// use sentinel_telegram::split::split_plain;
/// let parts = split_plain("aaaa bbbb cccc", 10);
/// assert_eq!(parts, vec!["aaaa bbbb ", "cccc"]);
/// assert_eq!(split_plain("ééé", 2), vec!["éé", "é"]);
/// ```
pub fn split_plain(text: &str, max: usize) -> Vec<&str> {
    let max = max.max(2);
    let mut parts = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        // A UTF-8 byte is never fewer than the UTF-16 units it contributes to.
        if rest.len() <= max || utf16_len(rest) <= max {
            parts.push(rest);
            break;
        }
        let (mut units, mut end) = (0, 0);
        let (mut last_line, mut last_space) = (None, None);
        for (i, c) in rest.char_indices() {
            let u = c.len_utf16();
            if units + u > max {
                break;
            }
            units += u;
            end = i + c.len_utf8();
            if c == '\n' {
                last_line = Some(end);
            } else if c.is_whitespace() {
                last_space = Some(end);
            }
        }
        let cut = last_line.or(last_space).unwrap_or(end);
        parts.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    parts
}

/// One part of a [`split_html`] result: `reopened + body + closed`, where `body` is a slice
/// of the input and the other two are tags the splitter added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlPart {
    text: String,
    source: Range<usize>,
    reopened_len: usize,
    closed_len: usize,
}

impl HtmlPart {
    /// The whole part, ready to send with `parse_mode: HTML`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The whole part as an owned string.
    pub fn into_string(self) -> String {
        self.text
    }

    /// The byte range of the input this part carries.
    pub fn source(&self) -> Range<usize> {
        self.source.clone()
    }

    /// The opening tags added at the start (tags open at the previous cut).
    pub fn reopened(&self) -> &str {
        &self.text[..self.reopened_len]
    }

    /// The slice of the input this part carries.
    pub fn body(&self) -> &str {
        &self.text[self.reopened_len..self.text.len() - self.closed_len]
    }

    /// The closing tags added at the end (tags still open at this cut).
    pub fn closed(&self) -> &str {
        &self.text[self.text.len() - self.closed_len..]
    }

    /// Whether the part shows nothing but whitespace (only tags and blanks). Telegram rejects
    /// such a message ("message text is empty"), so senders skip it.
    pub fn is_blank(&self) -> bool {
        let mut p = 0;
        while p < self.text.len() {
            let token = next_token(&self.text, p);
            match token.kind {
                Kind::Char(c) if !c.is_whitespace() => return false,
                Kind::Entity => return false,
                _ => {}
            }
            p = token.end;
        }
        true
    }

    /// Its length as this module counts it ([`utf16_len`]).
    pub fn len_utf16(&self) -> usize {
        utf16_len(&self.text)
    }
}

/// Splits Telegram HTML into parts of at most `max` UTF-16 units each, added tags included,
/// cutting at line breaks where possible and never inside a tag, an entity or a character.
/// Tags open at a cut are closed at the end of the part and reopened at the start of the
/// next. An empty text gives no parts.
///
/// Malformed markup (a stray `<`, an unknown `&…`) is carried through as text: this function
/// never fails because of it, and Telegram will reject it as it would unsplit.
///
/// # Errors
/// [`SplitError::MarkupTooLong`] when the tags that must be reopened and closed around some
/// piece of text leave no room for it.
pub fn split_html(text: &str, max: usize) -> Result<Vec<HtmlPart>, SplitError> {
    let mut parts = Vec::new();
    let mut open: Vec<OpenTag> = Vec::new();
    let mut pos = 0;
    while pos < text.len() {
        let reopened: String = open.iter().map(|t| &text[t.raw.clone()]).collect();
        let cut = find_cut(text, pos, &open, utf16_len(&reopened), max)
            .ok_or(SplitError::MarkupTooLong { offset: pos, max })?;
        // Replay up to the cut to learn which tags are open there.
        let mut p = pos;
        while p < cut {
            let token = next_token(text, p);
            apply(&mut open, text, &token);
            p = token.end;
        }
        let closed: String = open
            .iter()
            .rev()
            .map(|t| format!("</{}>", &text[t.name.clone()]))
            .collect();
        parts.push(HtmlPart {
            text: format!("{reopened}{}{closed}", &text[pos..cut]),
            source: pos..cut,
            reopened_len: reopened.len(),
            closed_len: closed.len(),
        });
        pos = cut;
    }
    Ok(parts)
}

/// Where the part starting at `pos` should end, or `None` if not even one token fits.
fn find_cut(
    text: &str,
    pos: usize,
    open: &[OpenTag],
    reopened: usize,
    max: usize,
) -> Option<usize> {
    let mut stack = open.to_vec();
    let mut closing: usize = stack.iter().map(|t| t.close_len_utf16(text)).sum();
    let mut units = reopened;
    let (mut last_line, mut last_space, mut last_any) = (None, None, None);
    let mut p = pos;
    while p < text.len() {
        let token = next_token(text, p);
        let token_units = utf16_len(&text[p..token.end]);
        if units + token_units > max {
            break;
        }
        units += token_units;
        // Only tags change the stack, so only they change what closing it costs.
        if matches!(token.kind, Kind::Open(_) | Kind::Close(_)) {
            apply(&mut stack, text, &token);
            closing = stack.iter().map(|t| t.close_len_utf16(text)).sum();
        }
        p = token.end;
        // Never end a part right after an opening tag: it would only be closed again empty.
        if units + closing <= max && !matches!(token.kind, Kind::Open(_)) {
            last_any = Some(p);
            if let Kind::Char(c) = token.kind {
                if c == '\n' {
                    last_line = Some(p);
                } else if c.is_whitespace() {
                    last_space = Some(p);
                }
            }
        }
    }
    if p >= text.len() && units + closing <= max {
        return Some(text.len());
    }
    last_line.or(last_space).or(last_any)
}

/// A tag open at some point: where its opening tag and its name are in the input.
#[derive(Debug, Clone)]
struct OpenTag {
    raw: Range<usize>,
    name: Range<usize>,
}

impl OpenTag {
    /// UTF-16 units of `</name>`.
    fn close_len_utf16(&self, text: &str) -> usize {
        3 + utf16_len(&text[self.name.clone()])
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// An opening tag; the range is its name.
    Open(Range<usize>),
    /// A closing tag; the range is its name.
    Close(Range<usize>),
    /// A self-closing tag (`<x/>`): no effect on nesting.
    SelfClosing,
    /// An entity (`&amp;`, `&#65;`).
    Entity,
    /// One character of text.
    Char(char),
}

#[derive(Debug)]
struct Token {
    kind: Kind,
    end: usize,
}

/// Updates the open-tag stack for `token`. A closing tag closes the innermost open tag of
/// that name (and any opened inside it); one with no open match is ignored.
fn apply(stack: &mut Vec<OpenTag>, text: &str, token: &Token) {
    match &token.kind {
        Kind::Open(name) => stack.push(OpenTag {
            raw: (name.start - 1)..token.end,
            name: name.clone(),
        }),
        Kind::Close(name) => {
            let wanted = &text[name.clone()];
            if let Some(i) = stack
                .iter()
                .rposition(|t| text[t.name.clone()].eq_ignore_ascii_case(wanted))
            {
                stack.truncate(i);
            }
        }
        Kind::SelfClosing | Kind::Entity | Kind::Char(_) => {}
    }
}

/// The token starting at byte `pos` (a char boundary) of `text`.
fn next_token(text: &str, pos: usize) -> Token {
    let rest = &text[pos..];
    let c = rest.chars().next().unwrap_or('\0');
    let char_token = Token {
        kind: Kind::Char(c),
        end: pos + c.len_utf8(),
    };
    match c {
        '<' => tag(text, pos).unwrap_or(char_token),
        '&' => entity_len(rest).map_or(char_token, |len| Token {
            kind: Kind::Entity,
            end: pos + len,
        }),
        _ => char_token,
    }
}

/// A tag at `pos` (which holds `<`): up to the first `>` outside quotes. `None` if it is not
/// a tag (no `>`, a `<` first, or a name not starting with a letter).
fn tag(text: &str, pos: usize) -> Option<Token> {
    let bytes = text.as_bytes();
    let mut quote = None;
    let mut end = None;
    for (i, &b) in bytes.iter().enumerate().skip(pos + 1) {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => {
                end = Some(i + 1);
                break;
            }
            (None, b'<') => return None,
            _ => {}
        }
    }
    let end = end?;
    let (closing, name_start) = if bytes.get(pos + 1) == Some(&b'/') {
        (true, pos + 2)
    } else {
        (false, pos + 1)
    };
    let name_len = bytes[name_start..end - 1]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-' || **b == b'_')
        .count();
    if name_len == 0 || !bytes[name_start].is_ascii_alphabetic() {
        return None;
    }
    let name = name_start..name_start + name_len;
    let kind = if closing {
        Kind::Close(name)
    } else if bytes[end - 2] == b'/' {
        Kind::SelfClosing
    } else {
        Kind::Open(name)
    };
    Some(Token { kind, end })
}

/// The byte length of an entity (`&name;`, `&#123;`, `&#x1F;`) at the start of `s`.
fn entity_len(s: &str) -> Option<usize> {
    let body = s.as_bytes().get(1..)?;
    let len = body
        .iter()
        .take(MAX_ENTITY_LEN)
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'#')
        .count();
    (len > 0 && body.get(len) == Some(&b';')).then_some(len + 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        let t = "<a href=\"x>y\">l</a>&amp;&bogus &";
        let tok = next_token(t, 0);
        assert_eq!(tok.end, 14);
        assert!(matches!(tok.kind, Kind::Open(ref n) if &t[n.clone()] == "a"));
        let tok = next_token(t, 15);
        assert!(matches!(tok.kind, Kind::Close(ref n) if &t[n.clone()] == "a"));
        let tok = next_token(t, 19);
        assert_eq!((tok.kind, tok.end), (Kind::Entity, 24));
        assert_eq!(next_token(t, 24).kind, Kind::Char('&'));
        assert_eq!(next_token("<3 >", 0).kind, Kind::Char('<'));
        assert_eq!(next_token("< b <b>", 0).kind, Kind::Char('<'));
        assert_eq!(next_token("<br/>", 0).kind, Kind::SelfClosing);
    }

    #[test]
    fn never_cuts_an_entity_or_a_tag() {
        let text = "&amp;&amp;&amp;";
        let parts = split_html(text, 7).unwrap();
        assert!(parts.iter().all(|p| p.body() == "&amp;"));
        let parts = split_html("<b>x</b>", 8).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].as_str(), "<b>x</b>");
        assert!(split_html("<b>x</b>", 7).is_err());
        let parts = split_html("<b>xy</b>", 8).unwrap();
        let texts: Vec<&str> = parts.iter().map(HtmlPart::as_str).collect();
        assert_eq!(texts, vec!["<b>x</b>", "<b>y</b>"]);
        assert_eq!(parts[1].reopened(), "<b>");
        assert_eq!(parts[0].closed(), "</b>");
        assert_eq!(parts[1].body(), "y</b>");
        assert_eq!(parts[1].closed(), "");
    }

    #[test]
    fn blank_parts_are_detected() {
        let parts = split_html("<b>x</b>\n\n \n", 8).unwrap();
        assert!(!parts[0].is_blank());
        assert!(parts.last().unwrap().is_blank());
        assert!(!split_html("&lt;", 10).unwrap()[0].is_blank());
    }

    #[test]
    fn too_deep_markup_is_an_error() {
        let text = format!("<a href=\"{}\">x</a>", "h".repeat(50));
        assert_eq!(
            split_html(&text, 40),
            Err(SplitError::MarkupTooLong { offset: 0, max: 40 })
        );
    }
}
