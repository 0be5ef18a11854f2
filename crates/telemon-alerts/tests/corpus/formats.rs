//! Provider token formats: placeholder until the format rules land (replaced by the full list).

/// `(provider, secret)`.
pub(crate) const FORMAT_SECRETS: &[(&str, &str)] = &[
    ("github", "ghp_R4nd0mT0k3nV4lu3Ab12Cd34Ef56Gh78Ij90"),
    ("stripe", "sk_live_51HqLyjWDarjtT1zdp7dcXYZ"),
    ("slack", "xoxb-2048-4096-Ab12Cd34Ef56Gh78"),
    ("google", "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"),
    ("aws", "AKIAJ7Q3EXAMPLEKEY12"),
    ("telegram", "1234567890:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"),
    (
        "jwt",
        "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJhdXRoIn0.ZXhwaXJlZC1zaWc",
    ),
];

/// Harmless strings resembling those formats.
pub(crate) const FORMAT_LOOK_ALIKES: &[&str] = &[
    "the prefix ghp_ marks GitHub tokens",
    "AKIAshort is not a key",
];
