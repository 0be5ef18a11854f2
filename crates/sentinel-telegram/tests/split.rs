//! Splitting long texts: property tests and examples.
#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

use proptest::prelude::*;
use sentinel_telegram::html;
use sentinel_telegram::split::{MAX_MESSAGE_LEN, split_html, split_plain, utf16_len};

/// Checks that `part` is balanced Telegram-style HTML: every closing tag closes the innermost
/// open one and nothing stays open. Independent of the splitter's tokenizer.
fn balanced(part: &str) -> bool {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = part;
    while let Some(i) = rest.find('<') {
        let Some(j) = rest[i..].find('>') else {
            return false;
        };
        let inner = &rest[i + 1..i + j];
        if let Some(name) = inner.strip_prefix('/') {
            if stack.pop().as_deref() != Some(name) {
                return false;
            }
        } else {
            stack.push(inner.split(' ').next().unwrap_or("").to_owned());
        }
        rest = &rest[i + j + 1..];
    }
    stack.is_empty()
}

/// Text with tags removed (entities kept as written).
fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// Every `&` starts one of the entities the generator writes.
fn entities_intact(s: &str) -> bool {
    s.match_indices('&').all(|(i, _)| {
        ["&amp;", "&lt;", "&gt;", "&quot;", "&#128077;"]
            .iter()
            .any(|e| s[i..].starts_with(e))
    })
}

fn plain_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            4 => Just("a"), 2 => Just(" "), 2 => Just("\n"), 1 => Just("é"), 1 => Just("👍"),
            1 => Just("long-word-without-spaces"), 1 => Just("中文"),
        ],
        0..400,
    )
    .prop_map(|v| v.concat())
}

/// Balanced Telegram HTML: escaped text, entities and nested supported tags.
fn html_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        plain_text().prop_map(|t| html::escape(&t).into_owned()),
        Just("a < b & \"c\" > d\n".to_owned()).prop_map(|t| html::escape(&t).into_owned()),
        Just("&#128077;".to_owned()),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        (
            prop_oneof![
                Just(("<b>", "</b>")),
                Just(("<i>", "</i>")),
                Just(("<code>", "</code>")),
                Just(("<pre>", "</pre>")),
                Just(("<blockquote>", "</blockquote>")),
                Just(("<span class=\"tg-spoiler\">", "</span>")),
                Just(("<a href=\"https://example.org/?a=1&amp;b=2\">", "</a>")),
                Just(("", "")),
            ],
            proptest::collection::vec(inner, 1..4),
        )
            .prop_map(|((open, close), children)| format!("{open}{}{close}", children.concat()))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn plain_parts_fit_and_concatenate_exactly(text in plain_text(), max in 2_usize..60) {
        let parts = split_plain(&text, max);
        prop_assert_eq!(parts.concat(), text.clone());
        for (i, part) in parts.iter().enumerate() {
            prop_assert!(!part.is_empty());
            prop_assert!(utf16_len(part) <= max, "part {} has {} units", i, utf16_len(part));
            // Line boundaries first: a part that does not end a line holds no line break.
            if i + 1 < parts.len() && !part.ends_with('\n') {
                prop_assert!(!part.contains('\n'), "part {:?} skipped a line break", part);
            }
        }
    }

    #[test]
    fn html_parts_fit_balance_and_give_back_the_input(text in html_text(), max in 200_usize..700) {
        let parts = split_html(&text, max).expect("generated markup nests shallowly enough");
        let bodies: String = parts.iter().map(|p| p.body()).collect();
        prop_assert_eq!(&bodies, &text);
        let stripped: String = parts.iter().map(|p| strip_tags(p.as_str())).collect();
        prop_assert_eq!(stripped, strip_tags(&text));
        let mut next = 0;
        for part in &parts {
            prop_assert!(part.len_utf16() <= max, "{} > {}", part.len_utf16(), max);
            prop_assert!(balanced(part.as_str()), "unbalanced part {:?}", part.as_str());
            prop_assert!(entities_intact(part.as_str()), "cut entity in {:?}", part.as_str());
            prop_assert_eq!(format!("{}{}{}", part.reopened(), part.body(), part.closed()), part.as_str());
            prop_assert!(strip_tags(part.reopened()).is_empty() && strip_tags(part.closed()).is_empty());
            prop_assert_eq!(part.source().start, next);
            next = part.source().end;
        }
        prop_assert_eq!(next, text.len());
        if utf16_len(&text) <= max {
            prop_assert!(parts.len() <= 1);
        }
    }

    #[test]
    fn html_split_never_panics_on_arbitrary_input(text in ".{0,300}", max in 0_usize..80) {
        if let Ok(parts) = split_html(&text, max) {
            let bodies: String = parts.iter().map(|p| p.body()).collect();
            prop_assert_eq!(bodies, text);
            for part in &parts {
                prop_assert!(part.len_utf16() <= max);
            }
        }
    }
}

#[test]
fn long_html_splits_into_full_messages_at_line_breaks() {
    let line = format!(
        "{} {}\n",
        html::bold("server-42"),
        html::escape("load > 9000 & rising")
    );
    let text = format!("<blockquote>{}</blockquote>", line.repeat(400));
    let parts = split_html(&text, MAX_MESSAGE_LEN).unwrap();
    assert!(parts.len() >= 3, "{}", parts.len());
    for part in &parts {
        assert!(part.len_utf16() <= MAX_MESSAGE_LEN);
        assert!(part.as_str().starts_with("<blockquote>"));
        assert!(part.as_str().ends_with("</blockquote>"));
        // Cut after a full line: the body ends with the line break (or the input's end).
        assert!(part.body().ends_with('\n') || part.body().ends_with("</blockquote>"));
        // Parts are well used: more than 90 % of the budget except the last.
    }
    for part in &parts[..parts.len() - 1] {
        assert!(part.len_utf16() > MAX_MESSAGE_LEN * 9 / 10);
    }
}

#[test]
fn multibyte_characters_are_never_cut() {
    let text = "👍".repeat(3000);
    let parts = split_plain(&text, MAX_MESSAGE_LEN);
    assert_eq!(parts.len(), 2);
    assert_eq!(utf16_len(parts[0]), 4096);
    assert_eq!(parts.concat(), text);
    let parts = split_html(&text, 4095).unwrap();
    assert_eq!(utf16_len(parts[0].as_str()), 4094);
}

#[test]
fn empty_text_has_no_parts() {
    assert!(split_plain("", 10).is_empty());
    assert!(split_html("", 10).unwrap().is_empty());
}
