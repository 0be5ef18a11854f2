//! A strict checker for `parse_mode: HTML` texts: supported tags, proper nesting, only the
//! entities Telegram knows. Returns the visible text, whose length Telegram limits.

/// Tags the Bot API accepts in HTML mode.
const SUPPORTED_TAGS: [&str; 17] = [
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "tg-emoji",
    "code",
    "pre",
    "blockquote",
    "tg-time",
];

/// Parses `text` as Telegram HTML; `Ok(visible text)` or `Err(reason)` in the Bot API's words
/// (the caller prefixes `"Bad Request: can't parse entities: "`).
pub(crate) fn parse(text: &str) -> Result<String, String> {
    let mut visible = String::with_capacity(text.len());
    let mut open: Vec<String> = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                let Some(end) = rest.find('>') else {
                    return Err(format!(
                        "Can't find end of the tag starting at byte offset {offset}"
                    ));
                };
                let inner = &rest[1..end];
                if let Some(name) = inner.strip_prefix('/') {
                    let name = name.trim().to_ascii_lowercase();
                    match open.pop() {
                        Some(top) if top == name => {}
                        Some(top) => {
                            return Err(format!(
                                "Unmatched end tag at byte offset {offset}, expected \"</{top}>\", found \"</{name}>\""
                            ));
                        }
                        None => {
                            return Err(format!("Unexpected end tag at byte offset {offset}"));
                        }
                    }
                } else {
                    let name = inner
                        .split(|ch: char| ch.is_ascii_whitespace())
                        .next()
                        .unwrap_or("")
                        .to_ascii_lowercase();
                    if !SUPPORTED_TAGS.contains(&name.as_str()) {
                        return Err(format!(
                            "Unsupported start tag \"{name}\" at byte offset {offset}"
                        ));
                    }
                    open.push(name);
                }
                offset += end + 1;
                rest = &rest[end + 1..];
            }
            '&' => {
                let (decoded, len) = entity(rest).ok_or_else(|| {
                    format!("Character '&' at byte offset {offset} must be escaped as &amp;")
                })?;
                visible.push(decoded);
                offset += len;
                rest = &rest[len..];
            }
            _ => {
                visible.push(c);
                offset += c.len_utf8();
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    match open.pop() {
        Some(top) => Err(format!(
            "Can't find end tag corresponding to start tag \"{top}\""
        )),
        None => Ok(visible),
    }
}

/// The character an entity at the start of `s` stands for, and the entity's byte length.
fn entity(s: &str) -> Option<(char, usize)> {
    let semi = s.get(..12.min(s.len())).unwrap_or(s).find(';')?;
    let name = &s[1..semi];
    let c = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        _ => {
            let code =
                if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                    u32::from_str_radix(hex, 16).ok()?
                } else {
                    name.strip_prefix('#')?.parse::<u32>().ok()?
                };
            char::from_u32(code)?
        }
    };
    Some((c, semi + 1))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn accepts_valid_and_counts_visible() {
        assert_eq!(
            parse("<b>a &amp; b</b> &lt;x&gt; &#65;&#x42;").unwrap(),
            "a & b <x> AB"
        );
        assert_eq!(
            parse("<a href=\"https://x.y/?a=1&amp;b=2\">l</a>").unwrap(),
            "l"
        );
        assert_eq!(
            parse("<pre><code class=\"language-rust\">fn</code></pre>").unwrap(),
            "fn"
        );
    }

    #[test]
    fn rejects_invalid() {
        assert!(parse("<b>x").is_err());
        assert!(parse("<b><i>x</b></i>").is_err());
        assert!(parse("a & b").is_err());
        assert!(parse("<div>x</div>").is_err());
        assert!(parse("x</b>").is_err());
        assert!(parse("<b").is_err());
    }
}
