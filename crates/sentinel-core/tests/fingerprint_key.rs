//! The debounce key's fingerprint is URL-safe base64 without padding, as the `base64` crate
//! writes it: the key format is shared with every store, so the hand-written encoder must not
//! drift from the standard one.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use sentinel_core::{Fingerprint, KeyBuilder, Subject};

proptest! {
    // 2,048 random fingerprints: each of the 64 characters then lands in each of the 22
    // positions (a miss has odds of about 1 in 10^14 per pair).
    #![proptest_config(ProptestConfig::with_cases(2_048))]

    #[test]
    fn the_debounce_key_ends_with_the_standard_base64_of_the_fingerprint(content in proptest::collection::vec(any::<u8>(), 0..64)) {
        let keys = KeyBuilder::new("sentinel").unwrap();
        let fp = Fingerprint::of(&content);
        let key = keys.debounce_key(&Subject::User(7), "_", &fp);
        let expected = format!("sentinel:db:{{u7}}:=_:{}", URL_SAFE_NO_PAD.encode(fp.as_bytes()));
        prop_assert_eq!(key, expected);
    }
}
