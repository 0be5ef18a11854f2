//! Telegram HTML (`parse_mode: "HTML"`): escaping and a few builders.
//!
//! Telegram's HTML mode requires every `<`, `>` and `&` that is not part of a tag or an entity
//! to be written as `&lt;`, `&gt;`, `&amp;`, and `"` inside attribute values as `&quot;`.
//! [`escape`] does all four, so its output is safe both as text and inside a double-quoted
//! attribute. The builders escape their arguments; wrap already-built HTML only with
//! [`bold_html`]-style functions that say so.
//!
//! ```
//! use sentinel_telegram::html;
//!
//! let user_input = "<script> & \"quotes\"";
//! let text = format!("{}: {}", html::bold("Alert"), html::code(user_input));
//! assert_eq!(text, "<b>Alert</b>: <code>&lt;script&gt; &amp; &quot;quotes&quot;</code>");
//! assert_eq!(
//!     html::link("https://example.org/?a=1&b=2", "docs <here>"),
//!     "<a href=\"https://example.org/?a=1&amp;b=2\">docs &lt;here&gt;</a>"
//! );
//! ```

use std::borrow::Cow;

/// Escapes `&`, `<`, `>` and `"` (`&amp;`, `&lt;`, `&gt;`, `&quot;`: all four are named
/// entities Telegram supports). Borrows when nothing needs escaping.
///
/// ```
/// use sentinel_telegram::html::escape;
/// assert_eq!(escape("a < b && c > \"d\""), "a &lt; b &amp;&amp; c &gt; &quot;d&quot;");
/// assert!(matches!(escape("plain"), std::borrow::Cow::Borrowed("plain")));
/// ```
pub fn escape(text: &str) -> Cow<'_, str> {
    html_escape::encode_double_quoted_attribute(text)
}

/// `<b>escaped text</b>`.
pub fn bold(text: &str) -> String {
    format!("<b>{}</b>", escape(text))
}

/// `<i>escaped text</i>`.
pub fn italic(text: &str) -> String {
    format!("<i>{}</i>", escape(text))
}

/// `<code>escaped text</code>` (inline monospace).
pub fn code(text: &str) -> String {
    format!("<code>{}</code>", escape(text))
}

/// `<pre>escaped text</pre>` (a monospace block).
pub fn pre(text: &str) -> String {
    format!("<pre>{}</pre>", escape(text))
}

/// `<pre><code class="language-LANG">escaped text</code></pre>`: a block with syntax
/// highlighting. `language` is escaped too.
///
/// ```
/// use sentinel_telegram::html::pre_code;
/// assert_eq!(pre_code("rust", "a<b"), "<pre><code class=\"language-rust\">a&lt;b</code></pre>");
/// ```
pub fn pre_code(language: &str, text: &str) -> String {
    format!(
        "<pre><code class=\"language-{}\">{}</code></pre>",
        escape(language),
        escape(text)
    )
}

/// `<a href="escaped href">escaped text</a>`.
pub fn link(href: &str, text: &str) -> String {
    format!("<a href=\"{}\">{}</a>", escape(href), escape(text))
}

/// `<b>…</b>` around HTML that is **already** escaped/built (not escaped again).
pub fn bold_html(html: &str) -> String {
    format!("<b>{html}</b>")
}

/// `<blockquote>…</blockquote>` around HTML that is already escaped/built.
pub fn blockquote_html(html: &str) -> String {
    format!("<blockquote>{html}</blockquote>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_only_the_four_characters() {
        assert_eq!(escape("'plain' ü 👍"), "'plain' ü 👍");
        assert_eq!(escape("&amp;"), "&amp;amp;");
        assert_eq!(escape("<>&\""), "&lt;&gt;&amp;&quot;");
    }

    #[test]
    fn builders_escape_their_arguments() {
        assert_eq!(bold("a<b"), "<b>a&lt;b</b>");
        assert_eq!(italic("&"), "<i>&amp;</i>");
        assert_eq!(pre("x>y"), "<pre>x&gt;y</pre>");
        assert_eq!(
            link("\"><script>", "t"),
            "<a href=\"&quot;&gt;&lt;script&gt;\">t</a>"
        );
        assert_eq!(bold_html(&code("<")), "<b><code>&lt;</code></b>");
        assert_eq!(blockquote_html("x"), "<blockquote>x</blockquote>");
    }
}
