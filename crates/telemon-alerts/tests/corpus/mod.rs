//! The scrubbing corpus: secrets of every shape and format, and harmless look-alikes.

pub(crate) mod formats;
pub(crate) mod look_alikes;
pub(crate) mod shapes;

/// Sentences that carry a provider token with no keyword nearby.
pub(crate) const FORMAT_CARRIERS: &[&str] = &[
    "{}",
    "upstream call failed with {}",
    "got {} from the environment",
    "value {} was not accepted",
    "{} (expired)",
    "retrying after 401 for [{}]",
];

/// One secret placed in its carrier text.
#[derive(Debug, Clone)]
pub(crate) struct Case {
    /// The class or provider.
    pub(crate) label: String,
    /// The secret itself.
    pub(crate) secret: String,
    /// The text that carries it.
    pub(crate) text: String,
}

/// Every secret case: the shapes, then each provider format in a rotating carrier.
pub(crate) fn secret_cases() -> Vec<Case> {
    let shapes = shapes::SHAPE_SECRETS
        .iter()
        .map(|(label, secret, carrier)| Case {
            label: (*label).to_owned(),
            secret: (*secret).to_owned(),
            text: carrier.replace("{}", secret),
        });
    let formats = formats::FORMAT_SECRETS
        .iter()
        .enumerate()
        .map(|(i, (provider, secret))| Case {
            label: (*provider).to_owned(),
            secret: (*secret).to_owned(),
            text: FORMAT_CARRIERS[i % FORMAT_CARRIERS.len()].replace("{}", secret),
        });
    shapes.chain(formats).collect()
}

/// Every look-alike.
pub(crate) fn look_alikes() -> Vec<&'static str> {
    look_alikes::SHAPE_LOOK_ALIKES
        .iter()
        .chain(formats::FORMAT_LOOK_ALIKES)
        .copied()
        .collect()
}
