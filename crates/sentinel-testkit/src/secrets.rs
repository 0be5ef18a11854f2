//! Random passwords and the URL shapes they sit in, for the property tests that prove no
//! `Debug`, `Display` or error text ever shows a password.

use proptest::prelude::*;

/// A password of 8 to 23 characters: printable ASCII (every character, `/ # ? @ : % &`
/// included) and some Unicode.
pub fn password() -> impl Strategy<Value = String> {
    let ascii = (0x20u8..=0x7e).prop_map(char::from);
    let unicode = prop::sample::select(vec!['é', 'ß', 'я', '中', '€', '😀', '\u{a0}']);
    prop::collection::vec(prop_oneof![8 => ascii, 1 => unicode], 8..24)
        .prop_map(|cs| cs.into_iter().collect())
}

/// Redis URL shapes a password can sit in; `{}` is where it goes (as written in the URL).
pub const REDIS_URL_SHAPES: &[&str] = &[
    "redis://:{}@127.0.0.1:6379/0",
    "redis://alice:{}@cache.example:6380/2",
    "rediss://default:{}@cache.example:6380",
    "redis://{}@host",
    "redis://host:6379/0?password={}",
    "redis+unix:///tmp/r.sock?db=1&pass={}",
];

/// Whether `password` written raw into `shape` is a URL every parser reads the same way: in a
/// query value a raw `&` starts the next parameter, so such a password must be encoded there.
#[must_use]
pub fn fits_raw(shape: &str, password: &str) -> bool {
    !(shape.contains("={}") && password.contains('&'))
}

/// `password` percent-encoded: every byte but ASCII letters and digits as `%XX`.
#[must_use]
pub fn percent_encoded(password: &str) -> String {
    let mut out = String::with_capacity(password.len() * 3);
    for b in password.bytes() {
        if b.is_ascii_alphanumeric() {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Panics when `text` shows `password`, raw or percent-encoded.
///
/// # Panics
/// When it does.
pub fn assert_hidden(password: &str, text: &str) {
    for form in [password.to_owned(), percent_encoded(password)] {
        assert!(
            !text.contains(&form),
            "the password {form:?} is shown in {text:?}"
        );
    }
}
