//! Red-team corpus for the scrubber (issue 11), written independently of `tests/corpus/`.
//!
//! Every secret case is run through `Scrubber::default()` (`scrub_text`, plus
//! `scrub_backtrace` for multi-line input, `scrub_query` for query strings and
//! `scrub_headers` for header pairs). A **leak** is the secret, or any 8-character piece of
//! it that appears nowhere else in the input, surviving in the output. A **damage** is a
//! look-alike that changes. The test prints every leak and every damage before failing.
//!
//! Provider token formats (keys recognisable only by a vendor prefix) are deliberately not
//! covered here: another corpus owns them.
//!
//! Run with
//! `cargo test -p telemon-alerts --all-features --test scrub_redteam -- --nocapture`.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
#![allow(dead_code, reason = "fields exist to be printed by Debug")]

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use telemon_alerts::scrub::Scrubber;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `scrub_text` (and `scrub_backtrace` too when the input has several lines).
    Text,
    /// `scrub_query`.
    Query,
    /// `scrub_headers` with this header name; the input is the value.
    Header(&'static str),
}

struct Secret {
    class: &'static str,
    mode: Mode,
    input: String,
    /// The secrets as they appear in the input (and decoded forms when the scrubber may
    /// decode them).
    secrets: Vec<String>,
}

struct Look {
    class: &'static str,
    mode: Mode,
    input: String,
}

fn sec(class: &'static str, input: impl Into<String>, secrets: &[&str]) -> Secret {
    Secret {
        class,
        mode: Mode::Text,
        input: input.into(),
        secrets: secrets.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn secm(class: &'static str, mode: Mode, input: impl Into<String>, secrets: &[&str]) -> Secret {
    Secret {
        mode,
        ..sec(class, input, secrets)
    }
}

fn look(class: &'static str, input: impl Into<String>) -> Look {
    Look {
        class,
        mode: Mode::Text,
        input: input.into(),
    }
}

fn lookm(class: &'static str, mode: Mode, input: impl Into<String>) -> Look {
    Look {
        mode,
        ..look(class, input)
    }
}

/// Deterministic base64-looking body lines for private keys.
fn b64_lines(seed: u64, lines: usize, width: usize) -> Vec<String> {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..lines)
        .map(|_| {
            (0..width)
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ALPHA[((x >> 33) % 64) as usize] as char
                })
                .collect()
        })
        .collect()
}

/// The Debug rendering of a string, without its surrounding quotes.
fn dbg_inner(s: &str) -> String {
    let d = format!("{s:?}");
    d[1..d.len() - 1].to_owned()
}

// ---------------------------------------------------------------------------------------
// Rust types whose Debug output carries secrets.

#[derive(Debug)]
struct DbConfig {
    host: String,
    port: u16,
    user: String,
    password: String,
}

#[derive(Debug)]
struct ApiCfg {
    base_url: String,
    api_key: Option<String>,
    timeout_ms: u64,
}

#[derive(Debug)]
struct AppConfig {
    name: String,
    db: DbConfig,
    retries: u8,
}

#[derive(Debug)]
struct Password(String);

#[derive(Debug)]
struct ApiKey(String);

#[derive(Debug)]
struct SecretString(String);

#[derive(Debug)]
struct Credentials(String, String);

#[derive(Debug)]
struct OAuthClient {
    client_id: String,
    client_secret: String,
    refresh_token: Option<String>,
}

#[derive(Debug)]
struct SshLogin {
    user: String,
    pass: String,
    pwd: String,
    passphrase: Option<String>,
}

#[derive(Debug)]
struct AwsCreds {
    access_key_id: String,
    secret_key: String,
    session_token: Option<String>,
}

#[derive(Debug)]
struct TlsIdentity {
    cert_path: String,
    private_key: String,
}

#[derive(Debug)]
struct Login {
    username: String,
    credentials: String,
}

#[derive(Debug)]
enum Auth {
    Basic { user: String, password: String },
    Bearer(String),
    Header { name: String, value: String },
}

#[derive(Debug)]
struct AuthError {
    kind: &'static str,
    token: String,
}

#[derive(Debug)]
struct Webhook {
    url: String,
    signing_secret: String,
}

#[derive(Debug)]
struct SmtpCfg {
    relay: String,
    smtp_password: String,
}

#[derive(Debug)]
struct Wrapper {
    inner: Option<Box<Wrapper2>>,
}

#[derive(Debug)]
struct Wrapper2 {
    auth: Auth,
}

/// Displays like a connection error that names its URL (recorded with `%`).
struct ConnectError {
    url: String,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "failed to connect to {}: connection refused", self.url)
    }
}

// Look-alike types.
#[derive(Debug)]
struct PoolCfg {
    host: String,
    port: u16,
    pool_size: u32,
    author: String,
}

#[derive(Debug)]
struct TokenizerConfig {
    tokenizer: String,
    vocab_size: u32,
    max_tokens: u32,
}

#[derive(Debug)]
enum KeyCode {
    Char(char),
    Enter,
}

#[derive(Debug)]
struct KeyEvent {
    code: KeyCode,
    modifiers: u8,
}

#[derive(Debug)]
struct Passport {
    passport_country: String,
    keyboard_layout: String,
    secretary: String,
}

// ---------------------------------------------------------------------------------------

fn debug_cases(out: &mut Vec<Secret>) {
    let c = "1-debug";
    let db = DbConfig {
        host: "db.internal".into(),
        port: 5432,
        user: "app".into(),
        password: "Vx9#qLm2!tR8wZ".into(),
    };
    let p = "Vx9#qLm2!tR8wZ";
    out.push(sec(c, format!("{db:?}"), &[p]));
    out.push(sec(c, format!("{db:#?}"), &[p]));
    out.push(sec(c, format!("failed to open pool config={db:?}"), &[p]));

    let api = ApiCfg {
        base_url: "https://api.example.com".into(),
        api_key: Some("k7Hq2mVn9xLp4RtW8bYc".into()),
        timeout_ms: 3000,
    };
    let k = "k7Hq2mVn9xLp4RtW8bYc";
    out.push(sec(c, format!("{api:?}"), &[k]));
    out.push(sec(c, format!("{api:#?}"), &[k]));
    out.push(sec(
        c,
        format!("client init failed: {:?}", Ok::<_, ()>(&api)),
        &[k],
    ));

    let nested = AppConfig {
        name: "billing".into(),
        db: DbConfig {
            host: "pg".into(),
            port: 5432,
            user: "billing".into(),
            password: "nested-Pa55w0rd-7781".into(),
        },
        retries: 3,
    };
    let np = "nested-Pa55w0rd-7781";
    out.push(sec(c, format!("{nested:?}"), &[np]));
    out.push(sec(c, format!("{nested:#?}"), &[np]));

    let tp = "tupleStructPw#4417";
    out.push(sec(c, format!("{:?}", Password(tp.into())), &[tp]));
    out.push(sec(c, format!("{:#?}", Password(tp.into())), &[tp]));
    out.push(sec(c, format!("{:?}", Some(Password(tp.into()))), &[tp]));
    let ak = "ak_live_Q8w2Lr5Nz3Xv7Pm1";
    out.push(sec(c, format!("using {:?}", ApiKey(ak.into())), &[ak]));
    let ss = "Sup3rS3cretString!!";
    out.push(sec(c, format!("{:?}", SecretString(ss.into())), &[ss]));
    let cp = "credTuplePw*2291";
    out.push(sec(
        c,
        format!("{:?}", Credentials("svc-backup".into(), cp.into())),
        &[cp],
    ));
    out.push(sec(
        c,
        format!("{:#?}", Credentials("svc-backup".into(), cp.into())),
        &[cp],
    ));

    let oc = OAuthClient {
        client_id: "web-portal".into(),
        client_secret: "cs-8f3KxQ9vLm2Nw7Rt".into(),
        refresh_token: Some("rt.Yh6Tg5Rf4Ed3Ws2Qa1".into()),
    };
    out.push(sec(
        c,
        format!("{oc:?}"),
        &["cs-8f3KxQ9vLm2Nw7Rt", "rt.Yh6Tg5Rf4Ed3Ws2Qa1"],
    ));
    out.push(sec(
        c,
        format!("{oc:#?}"),
        &["cs-8f3KxQ9vLm2Nw7Rt", "rt.Yh6Tg5Rf4Ed3Ws2Qa1"],
    ));

    let ssh = SshLogin {
        user: "deploy".into(),
        pass: "passField-93jd".into(),
        pwd: "pwdField-28sk".into(),
        passphrase: Some("correct horse battery staple".into()),
    };
    out.push(sec(
        c,
        format!("{ssh:?}"),
        &[
            "passField-93jd",
            "pwdField-28sk",
            "correct horse battery staple",
        ],
    ));
    out.push(sec(
        c,
        format!("{ssh:#?}"),
        &[
            "passField-93jd",
            "pwdField-28sk",
            "correct horse battery staple",
        ],
    ));

    let aws = AwsCreds {
        access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
        secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
        session_token: Some("FwoGZXIvYXdzEBQaDKm3tyXq9Lc".into()),
    };
    out.push(sec(
        c,
        format!("{aws:?}"),
        &[
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "FwoGZXIvYXdzEBQaDKm3tyXq9Lc",
        ],
    ));

    let tls = TlsIdentity {
        cert_path: "/etc/app/cert.pem".into(),
        private_key: "MC4CAQAwBQYDK2VwBCIEIJ7x9Qk2".into(),
    };
    out.push(sec(
        c,
        format!("{tls:?}"),
        &["MC4CAQAwBQYDK2VwBCIEIJ7x9Qk2"],
    ));

    let login = Login {
        username: "ops".into(),
        credentials: "ops:Cr3dz-9911".into(),
    };
    out.push(sec(c, format!("{login:?}"), &["Cr3dz-9911"]));

    let basic = Auth::Basic {
        user: "admin".into(),
        password: "enumVariantPw-556".into(),
    };
    out.push(sec(c, format!("{basic:?}"), &["enumVariantPw-556"]));
    let bearer = Auth::Bearer("bearerVariant.x8Kq2Lm".into());
    out.push(sec(c, format!("{bearer:?}"), &["bearerVariant.x8Kq2Lm"]));
    let hdr = Auth::Header {
        name: "X-Api-Key".into(),
        value: "hdrValue-7Tq9Wm3Zr".into(),
    };
    out.push(sec(c, format!("{hdr:?}"), &["hdrValue-7Tq9Wm3Zr"]));
    let deep = Wrapper {
        inner: Some(Box::new(Wrapper2 {
            auth: Auth::Basic {
                user: "root".into(),
                password: "deepNestPw-0093".into(),
            },
        })),
    };
    out.push(sec(c, format!("{deep:?}"), &["deepNestPw-0093"]));
    out.push(sec(c, format!("{deep:#?}"), &["deepNestPw-0093"]));

    let err: Result<(), AuthError> = Err(AuthError {
        kind: "expired",
        token: "errTok-5Kd8Wq2Lx".into(),
    });
    out.push(sec(
        c,
        format!("request failed: {err:?}"),
        &["errTok-5Kd8Wq2Lx"],
    ));

    let wh = Webhook {
        url: "https://hooks.example.com/in".into(),
        signing_secret: "whsec-local-8Jq3Mz".into(),
    };
    out.push(sec(c, format!("{wh:?}"), &["whsec-local-8Jq3Mz"]));
    let smtp = SmtpCfg {
        relay: "smtp.example.com".into(),
        smtp_password: "smtpPw!4829xq".into(),
    };
    out.push(sec(c, format!("{smtp:?}"), &["smtpPw!4829xq"]));

    // Header pairs.
    let headers: Vec<(&str, &str)> = vec![
        ("content-type", "application/json"),
        ("x-api-key", "vecHdrKey-44Qx9"),
        ("cookie", "theme=dark; sid=vecCookieSid-2k9"),
        ("x-upstream-token", "upTok-7Wm2Qz8"),
        ("proxy-authorization", "Basic dXNlcjpwcm94eVB3ZDk5"),
    ];
    let hs = [
        "vecHdrKey-44Qx9",
        "vecCookieSid-2k9",
        "upTok-7Wm2Qz8",
        "dXNlcjpwcm94eVB3ZDk5",
    ];
    out.push(sec(c, format!("headers={headers:?}"), &hs));
    out.push(sec(c, format!("{headers:#?}"), &hs));

    let mut env: HashMap<String, String> = HashMap::new();
    env.insert(
        "AWS_SECRET_ACCESS_KEY".into(),
        "hm/Kx8Qz2Lw9Rt5Yv3Nb7Pd1Fg6Hj4Mk0Sa2Dc".into(),
    );
    out.push(sec(
        c,
        format!("env: {env:?}"),
        &["hm/Kx8Qz2Lw9Rt5Yv3Nb7Pd1Fg6Hj4Mk0Sa2Dc"],
    ));
    let mut bt: BTreeMap<&str, &str> = BTreeMap::new();
    bt.insert("DATABASE_PASSWORD", "btreePw-88Xq2");
    bt.insert("RUST_LOG", "info");
    bt.insert("SESSION_SECRET", "btreeSess-91Lm3");
    out.push(sec(
        c,
        format!("{bt:?}"),
        &["btreePw-88Xq2", "btreeSess-91Lm3"],
    ));
    out.push(sec(
        c,
        format!("{bt:#?}"),
        &["btreePw-88Xq2", "btreeSess-91Lm3"],
    ));
    let pairs = vec![
        ("AWS_SECRET_ACCESS_KEY", "pairSecret/Q8x2Lm9Zt4Wv"),
        ("AWS_REGION", "eu-west-1"),
    ];
    out.push(sec(c, format!("{pairs:?}"), &["pairSecret/Q8x2Lm9Zt4Wv"]));
    let one = ("GITHUB_TOKEN", "oneTuple-x9Qz2Lm8");
    out.push(sec(c, format!("{one:?}"), &["oneTuple-x9Qz2Lm8"]));

    // Debug escapes quotes and backslashes in the value.
    let q = "pa\"ss\\w0rd-tail9";
    let mut m = BTreeMap::new();
    m.insert("password", q);
    out.push(sec(c, format!("{m:?}"), &[&dbg_inner(q)]));
    let dq = DbConfig {
        host: "h".into(),
        port: 1,
        user: "u".into(),
        password: "quo\"te-Pw-8821".into(),
    };
    out.push(sec(c, format!("{dq:?}"), &[&dbg_inner("quo\"te-Pw-8821")]));

    // tracing: `?field` and `%field` of an ERROR event land as detail values and messages.
    out.push(sec(
        c,
        format!("message=\"db connect failed\" cfg={db:?}"),
        &[p],
    ));
    let ce = ConnectError {
        url: "postgres://app:dispPw-7Qx2@db:5432/app".into(),
    };
    out.push(sec(c, format!("{ce}"), &["dispPw-7Qx2"]));
    out.push(sec(c, format!("error={ce} retry=3"), &["dispPw-7Qx2"]));
    let os: Option<String> = Some("optStrSecret-3Lk9".into());
    out.push(sec(c, format!("token={os:?}"), &["optStrSecret-3Lk9"]));
    out.push(sec(
        c,
        format!("{:?}", ("password", "tuplePairPw-5521")),
        &["tuplePairPw-5521"],
    ));
}

fn pem(kind: &str, seed: u64) -> (String, Vec<String>) {
    let body = b64_lines(seed, 6, 64);
    let mut s = format!("-----BEGIN {kind}-----\n");
    for l in &body {
        s.push_str(l);
        s.push('\n');
    }
    s.push_str(&format!("-----END {kind}-----"));
    (s, body)
}

fn key_cases(out: &mut Vec<Secret>) {
    let c = "2-private-key";
    let kinds = [
        "RSA PRIVATE KEY",
        "PRIVATE KEY",
        "EC PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
        "DSA PRIVATE KEY",
        "PGP PRIVATE KEY BLOCK",
    ];
    for (i, kind) in kinds.iter().enumerate() {
        let (k, body) = pem(kind, i as u64 + 1);
        let refs: Vec<&str> = body.iter().map(String::as_str).collect();
        // Bare, inside a log line, in an error chain.
        out.push(sec(c, k.clone(), &refs));
        out.push(sec(
            c,
            format!("loading identity from env failed:\n{k}\nwhile parsing"),
            &refs,
        ));
    }
    // JSON-escaped newlines (service-account style).
    let (k, body) = pem("PRIVATE KEY", 11);
    let refs: Vec<&str> = body.iter().map(String::as_str).collect();
    let escaped = k.replace('\n', "\\n");
    out.push(sec(
        c,
        format!(
            r#"{{"type":"service_account","project_id":"demo","private_key":"{escaped}","client_email":"x@demo.iam"}}"#
        ),
        &refs,
    ));
    // Same key in an unrelated JSON field name.
    out.push(sec(c, format!(r#"{{"pem":"{escaped}"}}"#), &refs));
    // Debug of a String holding the key: `\n` escapes.
    out.push(sec(c, format!("key={k:?}"), &refs));
    let tls = TlsIdentity {
        cert_path: "/etc/tls.crt".into(),
        private_key: k.clone(),
    };
    out.push(sec(c, format!("{tls:#?}"), &refs));
    // CRLF line endings.
    let (k2, body2) = pem("RSA PRIVATE KEY", 12);
    let refs2: Vec<&str> = body2.iter().map(String::as_str).collect();
    out.push(sec(c, k2.replace('\n', "\r\n"), &refs2));
    // YAML block scalar, indented.
    let indented = k2.replace('\n', "\n    ");
    out.push(sec(
        c,
        format!("tls:\n  cert: /etc/tls.crt\n  key: |\n    {indented}\n  port: 443"),
        &refs2,
    ));
    // Env var with literal \n on one line.
    out.push(sec(
        c,
        format!("SSH_PRIVATE_KEY={}", k2.replace('\n', "\\n")),
        &refs2,
    ));
    // Truncated key (no END line): a log line cut mid-key.
    let (k3, body3) = pem("OPENSSH PRIVATE KEY", 13);
    let refs3: Vec<&str> = body3[..4].iter().map(String::as_str).collect();
    let cut: String = k3.lines().take(5).collect::<Vec<_>>().join("\n");
    out.push(sec(c, cut, &refs3));
    // Key body on one line, spaces instead of newlines (env var pasted).
    let (k4, body4) = pem("EC PRIVATE KEY", 14);
    let refs4: Vec<&str> = body4.iter().map(String::as_str).collect();
    out.push(sec(c, k4.replace('\n', " "), &refs4));
    // PGP block with armor headers.
    let pgp_body = b64_lines(15, 5, 64);
    let pgp_refs: Vec<&str> = pgp_body.iter().map(String::as_str).collect();
    let pgp = format!(
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\nComment: deploy key\n\n{}\n=Qx7a\n-----END PGP PRIVATE KEY BLOCK-----",
        pgp_body.join("\n")
    );
    out.push(sec(c, pgp, &pgp_refs));
    // PuTTY private key.
    let ppk_body = b64_lines(16, 4, 64);
    let ppk_refs: Vec<&str> = ppk_body.iter().map(String::as_str).collect();
    out.push(sec(
        c,
        format!(
            "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: ci\nPublic-Lines: 2\nAAAAC3NzaC1lZDI1NTE5AAAAIPub\nPrivate-Lines: 4\n{}\nPrivate-MAC: 4f2a9b",
            ppk_body.join("\n")
        ),
        &ppk_refs,
    ));
}

fn json_cases(out: &mut Vec<Secret>) {
    let c = "4-json";
    out.push(sec(
        c,
        r#"{"user":"bob","password":"pa\"ss\"word123tail"}"#,
        &[r#"pa\"ss\"word123tail"#],
    ));
    out.push(sec(
        c,
        r#"{"user":"bob","password":"ends-with-backslash\\"}"#,
        &[r"ends-with-backslash\\"],
    ));
    out.push(sec(
        c,
        r#"{ "client_secret" : "jsonSpaced-8Kq2Lm" , "scope": "read" }"#,
        &["jsonSpaced-8Kq2Lm"],
    ));
    out.push(sec(
        c,
        r#"{"db":{"host":"pg","credentials":{"user":"app","password":"nestedJson-4Wq9"}}}"#,
        &["nestedJson-4Wq9"],
    ));
    out.push(sec(
        c,
        r#"{"tokens":["arrTokOne-7Xk2Lp","arrTokTwo-3Qm8Zr"]}"#,
        &["arrTokOne-7Xk2Lp", "arrTokTwo-3Qm8Zr"],
    ));
    out.push(sec(
        c,
        r#"{"headers":[["Content-Type","text/plain"],["X-Api-Key","jsonPairHdr-9Lq2"]]}"#,
        &["jsonPairHdr-9Lq2"],
    ));
    out.push(sec(
        c,
        r#"{"headers":{"authorization":"Token jsonHdrTok-5Rt8","accept":"*/*"}}"#,
        &["jsonHdrTok-5Rt8"],
    ));
    out.push(sec(
        c,
        r#"{"body":"{\"username\":\"bob\",\"password\":\"innerJson-6Tz3Qx\"}"}"#,
        &["innerJson-6Tz3Qx"],
    ));
    out.push(sec(
        c,
        r#"{"event":"{\"payload\":\"{\\\"api_key\\\":\\\"tripleJson-2Mw8Kd\\\"}\"}"}"#,
        &["tripleJson-2Mw8Kd"],
    ));
    out.push(sec(
        c,
        r#"{"pass\u0077ord":"unicodeKey-7Hq3Wm"}"#,
        &["unicodeKey-7Hq3Wm"],
    ));
    out.push(sec(
        c,
        r#"{"password":"abc\u0022def-uniVal-4Lk8"}"#,
        &[r"abc\u0022def-uniVal-4Lk8"],
    ));
    out.push(sec(
        c,
        r#"{"secret":"slash\/escaped\/Val-8Pq1"}"#,
        &[r"slash\/escaped\/Val-8Pq1"],
    ));
    out.push(sec(
        c,
        r#"{"refreshToken":"camelRefresh-1Nz7Vb","accessToken":"camelAccess-5Xc3Bn"}"#,
        &["camelRefresh-1Nz7Vb", "camelAccess-5Xc3Bn"],
    ));
    out.push(sec(
        c,
        r#"{"privateKey":"camelPriv-9Mj4Hg","apiKey":"camelApi-2Df6Sa"}"#,
        &["camelPriv-9Mj4Hg", "camelApi-2Df6Sa"],
    ));
    out.push(sec(
        c,
        r#"{"x-api-key":"dashKeyJson-3Gh7Jk"}"#,
        &["dashKeyJson-3Gh7Jk"],
    ));
    out.push(sec(
        c,
        "{\n  \"user\": \"bob\",\n  \"password\": \"prettyJson-8Rt5Yu\"\n}",
        &["prettyJson-8Rt5Yu"],
    ));
    out.push(sec(
        c,
        r#"{"level":"error","msg":"login failed","fields":{"passwd":"jsonLines-6Io9Pl"}}"#,
        &["jsonLines-6Io9Pl"],
    ));
    out.push(sec(
        c,
        r#"{"pin":"483920","card_cvv":"719","secret_answer":"fluffy-the-cat-1999"}"#,
        &["fluffy-the-cat-1999"],
    ));
    out.push(sec(
        c,
        r#"{"auth":{"type":"basic","username":"u","password":"authObj-4Qa7Ws"}}"#,
        &["authObj-4Qa7Ws"],
    ));
    out.push(sec(
        c,
        r#"[{"name":"DB_PASSWORD","value":"k8sEnvVal-3Ed5Rf"}]"#,
        &["k8sEnvVal-3Ed5Rf"],
    ));
}

fn http_cases(out: &mut Vec<Secret>) {
    let c = "5-http";
    let req = "GET /v1/me HTTP/1.1\r\nHost: api.example.com\r\nX-Api-Key: rawHdrKey-7Yq2Wm\r\nAccept: */*\r\n";
    out.push(sec(c, req, &["rawHdrKey-7Yq2Wm"]));
    out.push(sec(
        c,
        "X-Auth-Token: authTokHdr-8Kx3Lp",
        &["authTokHdr-8Kx3Lp"],
    ));
    out.push(sec(
        c,
        "X-Upstream-Secret: upSecretHdr-2Nq9",
        &["upSecretHdr-2Nq9"],
    ));
    out.push(sec(
        c,
        "X-Session-Id: sessHdr-5Tz8Wq3",
        &["sessHdr-5Tz8Wq3"],
    ));
    out.push(sec(
        c,
        "X-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        &["757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"],
    ));
    out.push(sec(
        c,
        "X-Amz-Security-Token: amzSecTok-Fwo9Lk2Qx",
        &["amzSecTok-Fwo9Lk2Qx"],
    ));
    out.push(sec(c, "X-CSRF-Token: csrfHdr-4Wm7Zq", &["csrfHdr-4Wm7Zq"]));
    out.push(sec(c, "Api-Key: plainApiKey-6Rt2", &["plainApiKey-6Rt2"]));
    out.push(sec(
        c,
        "Proxy-Authorization: Basic cHJveHk6cHJveHlQYXNzOTk=",
        &["cHJveHk6cHJveHlQYXNzOTk="],
    ));
    out.push(sec(
        c,
        r#"Authorization: Digest username="bob", realm="api", nonce="dcd98b7102dd2f0e", uri="/", response="6629fae49393a05397450978507c4ef1""#,
        &["6629fae49393a05397450978507c4ef1"],
    ));
    out.push(sec(
        c,
        "Cookie: _ga=GA1.2.3; theme=dark; sessionid=cookieSess-9Qw2Lm; csrftoken=cookieCsrf-3Zx8",
        &["cookieSess-9Qw2Lm", "cookieCsrf-3Zx8"],
    ));
    out.push(sec(
        c,
        "Cookie: remember_token=rememberMe-5Kd2Qa",
        &["rememberMe-5Kd2Qa"],
    ));
    out.push(sec(
        c,
        "Set-Cookie: session=setCookieSess-7Pq4; Path=/; HttpOnly; Secure; SameSite=Lax",
        &["setCookieSess-7Pq4"],
    ));
    out.push(sec(
        c,
        "set-cookie: __Host-auth=hostAuthCookie-2Wq8; Path=/; Secure",
        &["hostAuthCookie-2Wq8"],
    ));
    out.push(sec(
        c,
        "GET /oauth/callback?code=4/0AY0e-oauthCode-8Kq2Lm&state=oauthState-3Zx9Wq HTTP/1.1",
        &["4/0AY0e-oauthCode-8Kq2Lm", "oauthState-3Zx9Wq"],
    ));
    out.push(sec(
        c,
        "redirect to https://app.example.com/cb#access_token=fragAccess-6Tq2Lm&token_type=bearer&expires_in=3600",
        &["fragAccess-6Tq2Lm"],
    ));
    out.push(sec(
        c,
        "id_token=idTokVal-8Mz3Qw received",
        &["idTokVal-8Mz3Qw"],
    ));
    let sig = "f3a1c9b24e7d8a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b";
    out.push(sec(
        c,
        format!(
            "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature={sig}"
        ),
        &[sig],
    ));
    out.push(sec(
        c,
        format!(
            "GET https://bucket.s3.amazonaws.com/report.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature={sig} failed: 403"
        ),
        &[sig],
    ));
    out.push(sec(
        c,
        "download https://acct.blob.core.windows.net/c/f.zip?sv=2022-11-02&ss=b&srt=o&sp=r&se=2026-01-01T00:00:00Z&sig=sasSig%2BAbc9Qx2Lm%3D failed",
        &["sasSig%2BAbc9Qx2Lm%3D", "sasSig+Abc9Qx2Lm="],
    ));
    out.push(sec(
        c,
        "https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Signature=9c1e5a7b3d2f4e6a8b0c1d3e5f7a9b2c4d6e8f0a1b3c5d7e9f2a4b6c8d0e1f3a",
        &["9c1e5a7b3d2f4e6a8b0c1d3e5f7a9b2c4d6e8f0a1b3c5d7e9f2a4b6c8d0e1f3a"],
    ));
    out.push(sec(
        c,
        "https://d111.cloudfront.net/v.mp4?Expires=1767225600&Signature=cfSig~Qx9Lm2Wz4Rt7&Key-Pair-Id=K2JCJMDEHXQW5F",
        &["cfSig~Qx9Lm2Wz4Rt7"],
    ));
    out.push(sec(
        c,
        "webhook POST /hooks/github?signature=sha1%3Dab12cd34ef56ab78cd90ef12ab34cd56ef78ab90",
        &["ab12cd34ef56ab78cd90ef12ab34cd56ef78ab90"],
    ));
    out.push(secm(
        c,
        Mode::Header("X-Vault-Token"),
        "vaultHdrTok-7Wq3Lm",
        &["vaultHdrTok-7Wq3Lm"],
    ));
    out.push(secm(
        c,
        Mode::Header("X-Client-Secret"),
        "clientSecHdr-4Nz8",
        &["clientSecHdr-4Nz8"],
    ));
    out.push(secm(
        c,
        Mode::Header("Cookie"),
        "lang=en; sid=hdrCookieSid-8Mq2",
        &["hdrCookieSid-8Mq2"],
    ));
    out.push(secm(
        c,
        Mode::Header("X-Signature"),
        "t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd",
        &["5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd"],
    ));
    out.push(secm(
        c,
        Mode::Header("X-Goog-Api-Key"),
        "googHdr-3Pk8Wq2",
        &["googHdr-3Pk8Wq2"],
    ));
    out.push(secm(
        c,
        Mode::Header("X-Access-Token"),
        "accTokHdr-6Rz1Qm",
        &["accTokHdr-6Rz1Qm"],
    ));
    // Queries.
    out.push(secm(
        c,
        Mode::Query,
        "code=qCode-9Xk2Lm7Wq&state=qState-4Zt8Rn",
        &["qCode-9Xk2Lm7Wq", "qState-4Zt8Rn"],
    ));
    out.push(secm(
        c,
        Mode::Query,
        "access_token=qAccess-2Lm9Xq&page=1",
        &["qAccess-2Lm9Xq"],
    ));
    out.push(secm(
        c,
        Mode::Query,
        "X-Amz-Date=20240101T000000Z&X-Amz-Signature=aa11bb22cc33dd44ee55ff66aa77bb88cc99dd00ee11ff22aa33bb44cc55dd66",
        &["aa11bb22cc33dd44ee55ff66aa77bb88cc99dd00ee11ff22aa33bb44cc55dd66"],
    ));
    out.push(secm(
        c,
        Mode::Query,
        "sv=2022-11-02&sig=qSasSig%2F9Lm2Wq%3D&se=2026-01-01",
        &["qSasSig%2F9Lm2Wq%3D", "qSasSig/9Lm2Wq="],
    ));
    out.push(secm(
        c,
        Mode::Query,
        "next=%2Flogin%3Fpassword%3DnestedQPw-7Kd3&lang=en",
        &["nestedQPw-7Kd3"],
    ));
    out.push(secm(
        c,
        Mode::Query,
        "redirect_uri=https%3A%2F%2Fapp%2Fcb%3Ftoken%3DencRedirTok-5Wq2",
        &["encRedirTok-5Wq2"],
    ));
    out.push(secm(
        c,
        Mode::Query,
        "client_id=web&client_secret=qClientSec-8Hz3Lk",
        &["qClientSec-8Hz3Lk"],
    ));
    out.push(secm(
        c,
        Mode::Query,
        "session=qSession-3Mw7Tr&view=grid",
        &["qSession-3Mw7Tr"],
    ));
}

fn encoding_cases(out: &mut Vec<Secret>) {
    let c = "6-encoding";
    out.push(sec(
        c,
        "GET /reset?tok%65n=pctKeyTok-8Wq2Lm HTTP/1.1",
        &["pctKeyTok-8Wq2Lm"],
    ));
    out.push(sec(
        c,
        "form body: user=bob&%70assword=pctKeyPw-3Zk9",
        &["pctKeyPw-3Zk9"],
    ));
    out.push(sec(
        c,
        "login failed body=user%3Dbob%26password%3DpctBodyPw-6Lm2",
        &["pctBodyPw-6Lm2"],
    ));
    out.push(sec(
        c,
        "double encoded: password%253DdblEncPw-9Qx4",
        &["dblEncPw-9Qx4"],
    ));
    out.push(sec(
        c,
        "double encoded query q=api_key%253DdblKey-2Wm8Zt%2526x%253D1",
        &["dblKey-2Wm8Zt"],
    ));
    out.push(sec(
        c,
        "POST /login body: username=bob&password=plus+sign+Pw+77x",
        &["plus+sign+Pw+77x", "plus sign Pw 77x"],
    ));
    out.push(sec(
        c,
        "sendMessage failed: https://api.telegram.org/bot123456789%3AAAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage",
        &["AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"],
    ));
    out.push(sec(
        c,
        "GET /api/v1/login%3Fpassword%3DpathEncPw-4Tq8 404",
        &["pathEncPw-4Tq8"],
    ));
    out.push(sec(
        c,
        "payload=%7B%22api_key%22%3A%22formJsonKey-7Hq2%22%7D",
        &["formJsonKey-7Hq2"],
    ));
    out.push(sec(
        c,
        "connect postgres://app:p%40ss%2FpctUserinfo-5Kz@db:5432/app",
        &["p%40ss%2FpctUserinfo-5Kz", "p@ss/pctUserinfo-5Kz"],
    ));
    out.push(sec(
        c,
        "PASSWORD%3DupperPctPw-8Nw3 in env dump",
        &["upperPctPw-8Nw3"],
    ));
    out.push(sec(
        c,
        "cookie header Cookie%3A%20sid%3DpctCookie-2Rt6Lm",
        &["pctCookie-2Rt6Lm"],
    ));
    out.push(secm(
        c,
        Mode::Query,
        "api%5Fkey=qEncKey-6Yw3Lp",
        &["qEncKey-6Yw3Lp"],
    ));
    out.push(secm(
        c,
        Mode::Query,
        "password=q+plus+Pw+91",
        &["q+plus+Pw+91", "q plus Pw 91"],
    ));
    out.push(secm(
        c,
        Mode::Query,
        "token=qSlash%2FTok%3D%3D8Lm",
        &["qSlash%2FTok%3D%3D8Lm", "qSlash/Tok==8Lm"],
    ));
    out.push(secm(
        c,
        Mode::Query,
        "data=%257B%2522password%2522%253A%2522dblQJson-3Pk7%2522%257D",
        &["dblQJson-3Pk7"],
    ));
}

fn prose_cases(out: &mut Vec<Secret>) {
    let c = "7-prose";
    let cases: &[(&str, &[&str])] = &[
        (
            "login failed: password 'quotedPw-8Kq2' rejected",
            &["quotedPw-8Kq2"],
        ),
        ("password \"dquotePw-3Lm9\" is too old", &["dquotePw-3Lm9"]),
        ("passwd plainPasswd-5Zx2", &["plainPasswd-5Zx2"]),
        ("password: colonPw-7Wq4", &["colonPw-7Wq4"]),
        ("pwd=pwdEq-2Nt8Lk", &["pwdEq-2Nt8Lk"]),
        (
            "login failed for user bob with password withPw-4Rz7Qm",
            &["withPw-4Rz7Qm"],
        ),
        (
            "machine api.example.com login bob password netrcPw-9Ks3",
            &["netrcPw-9Ks3"],
        ),
        (
            "machine git.example.com\n  login deploy\n  password netrcMl-6Tq1",
            &["netrcMl-6Tq1"],
        ),
        ("redis> AUTH default redisAclPw-3Mz8", &["redisAclPw-3Mz8"]),
        (
            "sent AUTH redisPlainPw-7Lq2 to cache:6379",
            &["redisPlainPw-7Lq2"],
        ),
        (
            "redis-cli -h cache -a redisCliPw-4Wk9 ping",
            &["redisCliPw-4Wk9"],
        ),
        (
            "exec: pg_dump --host db --password cliPw-8Xn3 app",
            &["cliPw-8Xn3"],
        ),
        (
            "exec: tool --password=cliEqPw-2Qz7 --verbose",
            &["cliEqPw-2Qz7"],
        ),
        ("mysql -u root -pMysqlGlued-5Lk2 app", &["MysqlGlued-5Lk2"]),
        (
            "sshpass -p sshpassPw-6Wm1 ssh deploy@host",
            &["sshpassPw-6Wm1"],
        ),
        (
            "deploy.sh --token cliTok-3Hz8Qw --env prod",
            &["cliTok-3Hz8Qw"],
        ),
        ("vault login --api-key=cliApiKey-7Rn2", &["cliApiKey-7Rn2"]),
        (
            "oauth2-proxy --client-secret cliCliSec-9Ts4 --provider oidc",
            &["cliCliSec-9Ts4"],
        ),
        (
            "curl -u admin:curlUserPw-4Qm8 https://example.com",
            &["curlUserPw-4Qm8"],
        ),
        (
            "curl -H 'X-Api-Key: curlHdrKey-8Lz3' https://example.com",
            &["curlHdrKey-8Lz3"],
        ),
        (
            "docker run -e POSTGRES_PASSWORD=dockerEnvPw-2Wq6 postgres:16",
            &["dockerEnvPw-2Wq6"],
        ),
        ("PGPASSWORD=pgEnvPw-5Kt9 psql -h db app", &["pgEnvPw-5Kt9"]),
        (
            "STRIPE_WEBHOOK_SECRET=envSecret-7Pq3Lm",
            &["envSecret-7Pq3Lm"],
        ),
        ("export DATABASE_PASSWORD=exportPw-3Nx8", &["exportPw-3Nx8"]),
        (
            "export GITHUB_TOKEN='exportQuoted-6Hw2'",
            &["exportQuoted-6Hw2"],
        ),
        (
            "RUST_LOG=info\nAPP_PORT=8080\nJWT_SECRET=dotenvJwt-4Tz9Lq\nREDIS_URL=redis://cache:6379",
            &["dotenvJwt-4Tz9Lq"],
        ),
        (
            "database:\n  host: pg\n  password: yamlPw-8Ks2Wq\n  pool: 10",
            &["yamlPw-8Ks2Wq"],
        ),
        (
            "auth:\n  client_secret: \"yamlQuoted-3Lm7\"",
            &["yamlQuoted-3Lm7"],
        ),
        (
            "[database]\nhost = \"pg\"\nsecret_key = \"tomlSecret-6Qz1Wm\"",
            &["tomlSecret-6Qz1Wm"],
        ),
        ("[smtp]\npassword = iniPlainPw-2Rw5", &["iniPlainPw-2Rw5"]),
        (
            "settings = {'api_key': 'pyDict-9Lk4Qz', 'debug': False}",
            &["pyDict-9Lk4Qz"],
        ),
        (
            "const cfg = { apiKey: 'jsObj-5Wt8Nq', region: 'eu' }",
            &["jsObj-5Wt8Nq"],
        ),
        (
            "psycopg2.connect(host='db', password='pyKwarg-3Mz6')",
            &["pyKwarg-3Mz6"],
        ),
        (
            "config :app, MyApp.Repo, password: \"elixirKw-7Tq2\"",
            &["elixirKw-7Tq2"],
        ),
        ("{ \"token\" => \"rubyHash-4Lw8Zx\" }", &["rubyHash-4Lw8Zx"]),
        ("<password>xmlElemPw-6Kz3</password>", &["xmlElemPw-6Kz3"]),
        (
            "<add key=\"ApiKey\" value=\"dotnetCfg-8Qm5Wt\" />",
            &["dotnetCfg-8Qm5Wt"],
        ),
        (
            "ALTER USER app WITH PASSWORD 'sqlAlterPw-2Lx9';",
            &["sqlAlterPw-2Lx9"],
        ),
        (
            "CREATE USER 'app'@'%' IDENTIFIED BY 'sqlIdentPw-5Nz4';",
            &["sqlIdentPw-5Nz4"],
        ),
        ("secret: bareSecret-7Wq3Lk", &["bareSecret-7Wq3Lk"]),
        (
            "passphrase: correct-horse-battery-9",
            &["correct-horse-battery-9"],
        ),
        (
            "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"svc\" password=\"jaasPw-4Tm8\";",
            &["jaasPw-4Tm8"],
        ),
        (
            "Set password to 'setToPw-6Rk1Qz' for user ops",
            &["setToPw-6Rk1Qz"],
        ),
        ("api_key: 'yamlSingle-3Hx7'", &["yamlSingle-3Hx7"]),
        ("access_key=\"accessKeyQ-9Wz2Lm\"", &["accessKeyQ-9Wz2Lm"]),
        ("token:colonNoSpace-5Qk8", &["colonNoSpace-5Qk8"]),
        ("PASSWORD := 'plsqlAssign-8Lm4'", &["plsqlAssign-8Lm4"]),
    ];
    for (input, secrets) in cases {
        out.push(sec(c, *input, secrets));
    }
}

fn url_cases(out: &mut Vec<Secret>) {
    let c = "url-credentials";
    let cases: &[(&str, &[&str])] = &[
        ("postgres://app:pgUrlPw-8Kq2@db:5432/app", &["pgUrlPw-8Kq2"]),
        (
            "mysql://root:mysqlUrlPw-3Lm9@10.0.0.5/app",
            &["mysqlUrlPw-3Lm9"],
        ),
        (
            "amqps://guest:amqpUrlPw-5Zx2@mq.internal:5671/vh",
            &["amqpUrlPw-5Zx2"],
        ),
        (
            "mongodb+srv://app:mongoSrvPw-7Wq4@cluster0.abcd.mongodb.net/db?retryWrites=true",
            &["mongoSrvPw-7Wq4"],
        ),
        (
            "rediss://default:redissPw-2Nt8@cache:6380/0",
            &["redissPw-2Nt8"],
        ),
        (
            "git clone https://bob:gitHttpsPw-4Rz7@git.example.com/org/repo.git",
            &["gitHttpsPw-4Rz7"],
        ),
        (
            "ftp://anon:ftpUrlPw-9Ks3@files.example.com/pub",
            &["ftpUrlPw-9Ks3"],
        ),
        (
            "smtp://mailer:smtpUrlPw-6Tq1@smtp.example.com:587",
            &["smtpUrlPw-6Tq1"],
        ),
        (
            "ldap://cn=admin:ldapUrlPw-3Mz8@ldap.example.com",
            &["ldapUrlPw-3Mz8"],
        ),
        (
            "postgres://app:ipv6UrlPw-7Lq2@[2001:db8::1]:5432/app",
            &["ipv6UrlPw-7Lq2"],
        ),
        (
            "postgres://app:at@sign@Pw-4Wk9@db:5432/app",
            &["at@sign@Pw-4Wk9"],
        ),
        ("redis://:slash/inPw-8Xn3@cache:6379", &["slash/inPw-8Xn3"]),
        ("amqp://u:colon:inPw-2Qz7@mq:5672", &["colon:inPw-2Qz7"]),
        ("postgres://u:hash#inPw-5Lk2@db/app", &["hash#inPw-5Lk2"]),
        (
            "sftp://deploy:sftpUrlPw-6Wm1@files:22/in",
            &["sftpUrlPw-6Wm1"],
        ),
        (
            "pip install git+https://ci:gitPlusPw-3Hz8@git.example.com/lib.git",
            &["gitPlusPw-3Hz8"],
        ),
        (
            "HTTPS_PROXY=http://proxyuser:proxyUrlPw-7Rn2@proxy:3128",
            &["proxyUrlPw-7Rn2"],
        ),
        (
            "nats://nats:natsUrlPw-9Ts4@nats.internal:4222",
            &["natsUrlPw-9Ts4"],
        ),
        (
            "error: connection to \"postgresql://app:quotedUrlPw-4Qm8@db/app\" failed",
            &["quotedUrlPw-4Qm8"],
        ),
        (
            "clickhouse://default:chUrlPw-8Lz3@[::1]:9000/default",
            &["chUrlPw-8Lz3"],
        ),
        (
            "https://user:pwOnly%21Enc-2Wq6@example.com/",
            &["pwOnly%21Enc-2Wq6", "pwOnly!Enc-2Wq6"],
        ),
    ];
    for (input, secrets) in cases {
        out.push(sec(c, *input, secrets));
    }
}

fn connstr_cases(out: &mut Vec<Secret>) {
    let c = "conn-string";
    let cases: &[(&str, &[&str])] = &[
        (
            "Server=tcp:sql.example.net,1433;Initial Catalog=app;User ID=app;Password=adoPw-8Kq2Lm;Encrypt=True;",
            &["adoPw-8Kq2Lm"],
        ),
        (
            "Server=sql;Database=app;Uid=app;Pwd={brace;dPw-3Lm9=x};TrustServerCertificate=yes",
            &["brace;dPw-3Lm9=x"],
        ),
        (
            "Data Source=sql;User Id=app;Password=\"quoted;AdoPw-5Zx2\";",
            &["quoted;AdoPw-5Zx2"],
        ),
        (
            "Driver={ODBC Driver 18 for SQL Server};Server=sql;Uid=app;Pwd=odbcPw-7Wq4;",
            &["odbcPw-7Wq4"],
        ),
        (
            "jdbc:sqlserver://sql:1433;databaseName=app;user=app;password=jdbcMsPw-2Nt8;",
            &["jdbcMsPw-2Nt8"],
        ),
        (
            "jdbc:postgresql://db:5432/app?user=app&password=jdbcPgPw-4Rz7&ssl=true",
            &["jdbcPgPw-4Rz7"],
        ),
        (
            "jdbc:oracle:thin:scott/oraThinPw-9Ks3@db.example.com:1521:ORCL",
            &["oraThinPw-9Ks3"],
        ),
        (
            "jdbc:mysql://db:3306/app?user=root&password=jdbcMyPw-6Tq1",
            &["jdbcMyPw-6Tq1"],
        ),
        (
            "mongodb://app:mongoMultiPw-3Mz8@m1:27017,m2:27017,m3:27017/app?replicaSet=rs0",
            &["mongoMultiPw-3Mz8"],
        ),
        (
            "host=db port=5432 user=app password=libpqPw-7Lq2 dbname=app sslmode=require",
            &["libpqPw-7Lq2"],
        ),
        (
            "host=db user=app password='libpq quoted Pw-4Wk9' dbname=app",
            &["libpq quoted Pw-4Wk9"],
        ),
        (
            "app:goDsnPw-8Xn3@tcp(db:3306)/app?parseTime=true",
            &["goDsnPw-8Xn3"],
        ),
        (
            "cache.example.com:6380,password=seRedisPw-2Qz7,ssl=True,abortConnect=False",
            &["seRedisPw-2Qz7"],
        ),
        (
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c3RvcmFnZUFjY291bnRLZXk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk=;EndpointSuffix=core.windows.net",
            &["c3RvcmFnZUFjY291bnRLZXk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk="],
        ),
        (
            "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=c2hhcmVkQWNjZXNzS2V5MTIzNDU2Nzg5MA==",
            &["c2hhcmVkQWNjZXNzS2V5MTIzNDU2Nzg5MA=="],
        ),
        (
            "Provider=SQLOLEDB;Data Source=sql;User ID=sa;PWD=oleDbUpperPw-5Lk2;",
            &["oleDbUpperPw-5Lk2"],
        ),
    ];
    for (input, secrets) in cases {
        out.push(sec(c, *input, secrets));
    }
}

fn look_alikes() -> Vec<Look> {
    let mut v = Vec::new();
    let c = "8-words";
    for s in [
        "author: Tokenize Ltd",
        "tokenizer=wordpiece vocab=30522",
        "passport_country=DE",
        "keyboard layout switched to us",
        "secretary: Jane Doe",
        "authority=login.microsoftonline.com",
        "authored_by=alice reviewed_by=bob",
        "keyspace=prod_events",
        "monkey patching disabled",
        "passenger_count=3 route=A",
        "bypass_cache=true",
        "compass heading=270",
        "keynote speaker confirmed",
        "secretariat office closed",
        "turkey donkey whiskey",
        "keyframes=120 fps=30",
        "TOKENIZERS_PARALLELISM=false",
        "PASSENGER_APP_ENV=production",
        "KEYBOARD_LAYOUT=us",
        "RUST_LOG=info,tower_http=debug",
        "sort_key=created_at partition_key=user_id",
        "max_tokens=4096 temperature=0.2",
        "input_tokens: 523, output_tokens: 87",
        "authors = [\"Jane <jane@example.com>\"]",
        "passage 4 of 12",
    ] {
        v.push(look(c, s));
    }
    let c = "8-prose";
    for s in [
        "token expired, refreshing",
        "invalid token: signature mismatch",
        "password reset email sent to user 42",
        "failed to verify signature of webhook",
        "secret rotation scheduled at 02:00 UTC",
        "key not found in cache",
        "missing api key header",
        "authentication failed for user 42",
        "password must be at least 12 characters",
        "token bucket refilled: 10 tokens available",
        "missing Bearer token in Authorization header",
        "Basic auth is disabled on this endpoint",
        "NOAUTH Authentication required.",
        "WRONGPASS invalid username-password pair or user is disabled.",
        "ERR AUTH <password> called without any password configured for the default user.",
        "open /etc/passwd: permission denied",
        "open /run/secrets/db_password: no such file or directory",
        "tests passed: 42, failed: 0",
        "SIGTERM received, shutting down",
        "error code=E0425 in module",
        "connection state=Established",
        "the session ended after 30 minutes",
        "cookie consent banner shown",
        "rotating signing keys: 2 active",
        "private key loaded from /etc/app/key.pem",
    ] {
        v.push(look(c, s));
    }
    let c = "8-cli";
    for s in [
        "cargo test -p telemon-alerts --all-features",
        "ssh -p 2222 deploy@host",
        "mkdir -p /var/lib/app/data",
        "docker run -p 8080:80 nginx:1.27",
        "echo $PW | docker login --username bob --password-stdin ghcr.io",
        "psql --password-file /run/secrets/pgpass app",
        "git log -p --stat",
    ] {
        v.push(look(c, s));
    }
    let c = "8-ids-hashes";
    for s in [
        "request_id=550e8400-e29b-41d4-a716-446655440000",
        "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7",
        "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
        "image sha256:e3b0c44298fc1c149afbfc8996fb92427ae41e4649b934ca495991b7852b855",
        "etag: \"33a64df551425fcc55e4d42a148795d9f25f89d4\"",
        "content-hash: 5d41402abc4b2a76b9719d911017c592",
        "integrity sha512-Q8ZJ6Pz4tMyBHcJ9aBfqk0N0ZkOVNdjUKbGlw1rW1aXyDqtTMtE7w5C4m8R9lNq4y6tJ5XwS8nVu9dOq3pYh2g==",
        "chat_id=-1001234567890 message_id=5521",
        "user 7f3c2a1e-9b8d-4c6f-a5e4-3d2c1b0a9f8e not found",
        "job 01HZX3K5V9Q2W8M4N6R7T0Y1P3 queued",
        "build 2026-12-03T08:35:00Z #4821",
        "object_id=65f1a2b3c4d5e6f708192a3b",
        "order 1733212800123 shipped",
        "GET /api/v1/keys/42/rotate 200",
        "GET /oauth/token 400 invalid_grant",
        "crate version=2.4.1-beta+build.7",
        "rustc 1.85.0 (4d91de4e4 2025-02-17)",
        "OpenSSL 3.0.13 30 Jan 2024",
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl deploy@ci",
        "fingerprint SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s",
        "git@github.com:org/repo.git",
        "ssh://git@github.com/org/repo",
        "https://bob@example.com/profile",
        "https://github.com/rust-lang/rust/commit/9fceb02d0ae598e95dc970b74767f19372d61af8",
    ] {
        v.push(look(c, s));
    }
    let c = "8-paths-urls";
    for s in [
        "/home/app/.ssh/known_hosts",
        "reading /etc/ssl/certs/ca-certificates.crt",
        "crates/keys/src/token_store.rs:42:5",
        "postgres://db.internal:5432/app",
        "redis://cache:6379/0",
        "Server=tcp:sql.example.net;Database=app;Integrated Security=true;",
        "host=db port=5432 user=app dbname=app sslmode=require",
        "https://example.com/search?q=tokenizer&page=2",
        "mailto:support@example.com",
        "file:///var/log/app/secret-santa-2026.log",
    ] {
        v.push(look(c, s));
    }
    let c = "8-http";
    for s in [
        "Content-Type: application/json",
        "Accept-Encoding: gzip, deflate, br",
        "X-Request-Id: 550e8400-e29b-41d4-a716-446655440000",
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
        "Cache-Control: no-cache",
        "X-RateLimit-Remaining: 42",
        "Keep-Alive: timeout=5, max=100",
        "Content-Security-Policy: default-src 'self'",
        "Access-Control-Allow-Headers: Authorization, X-Api-Key, Content-Type",
        "Vary: Cookie, Authorization",
        "WWW-Authenticate: Bearer realm=\"api\"",
    ] {
        v.push(look(c, s));
    }
    for (name, value) in [
        ("Content-Type", "application/json"),
        ("X-Request-Id", "550e8400-e29b-41d4-a716-446655440000"),
        ("Accept", "*/*"),
        ("X-Token-Count", "17"),
        ("Keyboard-Layout", "us"),
        ("X-Author", "alice"),
    ] {
        v.push(lookm("8-headers", Mode::Header(name), value));
    }
    for q in [
        "page=2&per_page=50&sort=created_at",
        "q=rust+tokenizer&lang=en",
        "author=alice&year=2026",
        "utm_source=newsletter&utm_medium=email",
        "state_code=CA&zip=94107",
        "keyword=passport&limit=10",
    ] {
        v.push(lookm("8-query", Mode::Query, q));
    }
    let c = "8-debug";
    let pc = PoolCfg {
        host: "db".into(),
        port: 5432,
        pool_size: 10,
        author: "Tokenize Ltd".into(),
    };
    v.push(look(c, format!("{pc:?}")));
    v.push(look(c, format!("{pc:#?}")));
    let tc = TokenizerConfig {
        tokenizer: "bpe".into(),
        vocab_size: 32000,
        max_tokens: 4096,
    };
    v.push(look(c, format!("{tc:?}")));
    v.push(look(
        c,
        format!(
            "{:?}",
            KeyEvent {
                code: KeyCode::Char('a'),
                modifiers: 0
            }
        ),
    ));
    v.push(look(
        c,
        format!(
            "{:?}",
            KeyEvent {
                code: KeyCode::Enter,
                modifiers: 2
            }
        ),
    ));
    let pp = Passport {
        passport_country: "DE".into(),
        keyboard_layout: "de".into(),
        secretary: "Jane".into(),
    };
    v.push(look(c, format!("{pp:?}")));
    v.push(look(c, format!("{:?}", Some(42))));
    v.push(look(c, format!("{:?}", Ok::<(), ()>(()))));
    let benign = vec![
        ("content-type", "application/json"),
        ("x-request-id", "7f3c2a1e"),
    ];
    v.push(look(c, format!("{benign:?}")));
    v.push(look(
        c,
        r#"Err(Io(Os { code: 2, kind: NotFound, message: "No such file or directory" }))"#,
    ));
    let c = "8-json";
    for s in [
        r#"{"author":"Jane","tokenizer":"bpe","keyboard":"us"}"#,
        r#"{"state":"running","pid":4242}"#,
        r#"{"id":"550e8400-e29b-41d4-a716-446655440000","sha":"9fceb02d0ae598e95dc970b74767f19372d61af8"}"#,
        r#"{"message":"token expired","code":401}"#,
        r#"{"usage":{"prompt_tokens":12,"completion_tokens":40}}"#,
        r#"{"public_key":"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"}"#,
    ] {
        v.push(look(c, s));
    }
    let c = "8-multiline";
    let cert_body = b64_lines(99, 4, 64).join("\n");
    v.push(look(
        c,
        format!("-----BEGIN CERTIFICATE-----\n{cert_body}\n-----END CERTIFICATE-----"),
    ));
    let pub_body = b64_lines(98, 3, 64).join("\n");
    v.push(look(
        c,
        format!("-----BEGIN PUBLIC KEY-----\n{pub_body}\n-----END PUBLIC KEY-----"),
    ));
    v.push(look(
        c,
        "   0: myapp::auth::password::verify\n             at ./src/auth/password.rs:88:13\n   1: myapp::session::token::refresh\n             at ./src/session/token.rs:41:9",
    ));
    v.push(look(
        c,
        "thread 'main' panicked at src/keys.rs:12:5:\ncalled `Option::unwrap()` on a `None` value",
    ));
    v
}

fn hard_debug_cases(out: &mut Vec<Secret>) {
    let c = "1-debug";
    // A real `http::Request` and `HeaderMap`, as `?request` records them.
    let mut req = http::Request::builder()
        .method("POST")
        .uri("https://api.example.com/v1/charge?token=uriQTok-7Kd2Lm&page=1")
        .header("content-type", "application/json")
        .header("x-api-key", "reqHdrKey-3Wz8Qm")
        .header("x-custom-auth", "customAuth-5Lp9Rt")
        .body(())
        .unwrap();
    out.push(sec(
        c,
        format!("{req:?}"),
        &["uriQTok-7Kd2Lm", "reqHdrKey-3Wz8Qm", "customAuth-5Lp9Rt"],
    ));
    out.push(sec(
        c,
        format!("{:#?}", req.headers()),
        &["reqHdrKey-3Wz8Qm", "customAuth-5Lp9Rt"],
    ));
    req.headers_mut().insert(
        "cookie",
        http::HeaderValue::from_static("a=1; session_id=hmCookie-8Tq4Wz"),
    );
    out.push(sec(c, format!("{:?}", req.headers()), &["hmCookie-8Tq4Wz"]));
    // `url::Url`'s Debug, handwritten (same shape).
    out.push(sec(
        c,
        r#"Url { scheme: "postgres", cannot_be_a_base: false, username: "app", password: Some("urlDbgPw-4Nq7"), host: Some(Domain("db")), port: Some(5432), path: "/app", query: Some("sslmode=require&sslpassword=urlDbgSslPw-9Kd3"), fragment: None }"#,
        &["urlDbgPw-4Nq7", "urlDbgSslPw-9Kd3"],
    ));
    // Bytes of a password.
    let bytes: Vec<u8> = b"hunter2!".to_vec();
    let rendered = format!("{bytes:?}");
    out.push(sec(
        c,
        format!("Config {{ password: {rendered}, user: \"u\" }}"),
        &[&rendered[1..rendered.len() - 1]],
    ));
    // Token structs whose field has a generic name.
    out.push(sec(
        c,
        r#"AccessToken { value: "genericField-6Rz2Wq", expires_at: 1767225600 }"#,
        &["genericField-6Rz2Wq"],
    ));
    out.push(sec(
        c,
        r#"Some(BearerToken("bearerStruct-2Hx8Lk"))"#,
        &["bearerStruct-2Hx8Lk"],
    ));
    out.push(sec(
        c,
        "Err(Unauthorized { api_key: \"unauthErr-7Qw3Zt\", status: 401 })",
        &["unauthErr-7Qw3Zt"],
    ));
    // A HashMap with tuple values.
    let mut hm: HashMap<&str, (&str, &str)> = HashMap::new();
    hm.insert("primary", ("password", "tupleInMap-5Tk2Qz"));
    out.push(sec(c, format!("{hm:#?}"), &["tupleInMap-5Tk2Qz"]));
    // A Debug string holding an env dump with `\n` escapes.
    let envs = "RUST_LOG=info\nDB_PASSWORD=escNl-8Wq2Lm\nPORT=80";
    out.push(sec(c, format!("stdin={envs:?}"), &["escNl-8Wq2Lm"]));
    // A Debug String holding JSON (escaped quotes).
    let body = r#"{"password":"dbgJson-3Kx9Wm"}"#;
    out.push(sec(c, format!("body={body:?}"), &["dbgJson-3Kx9Wm"]));
    // Pretty Debug of a Vec of (name, value) with a sensitive name.
    let pairs = vec![("Ocp-Apim-Subscription-Key", "apimSub-6Lq3Wz8")];
    out.push(sec(c, format!("{pairs:#?}"), &["apimSub-6Lq3Wz8"]));
}

fn hard_key_cases(out: &mut Vec<Secret>) {
    let c = "2-private-key";
    // A 4096-bit RSA key is ~3.2 KB: longer than max_string_len and than 30 lines.
    let body = b64_lines(21, 49, 64);
    let mut k = String::from("-----BEGIN RSA PRIVATE KEY-----\n");
    for l in &body {
        k.push_str(l);
        k.push('\n');
    }
    k.push_str("-----END RSA PRIVATE KEY-----");
    let refs: Vec<&str> = body.iter().map(String::as_str).collect();
    out.push(sec(c, k.clone(), &refs));
    out.push(sec(
        c,
        format!("{}\n{k}", "note: padding line before the key ".repeat(40)),
        &refs,
    ));
    // Encrypted PEM with Proc-Type headers.
    let b2 = b64_lines(22, 4, 64);
    let r2: Vec<&str> = b2.iter().map(String::as_str).collect();
    out.push(sec(
        c,
        format!(
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,3F17F5316E2BAC89\n\n{}\n-----END RSA PRIVATE KEY-----",
            b2.join("\n")
        ),
        &r2,
    ));
    // ssh.com (SSH2) format: four dashes and spaces.
    let b3 = b64_lines(23, 4, 64);
    let r3: Vec<&str> = b3.iter().map(String::as_str).collect();
    out.push(sec(
        c,
        format!(
            "---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nComment: \"rsa-key-2024\"\n{}\n---- END SSH2 ENCRYPTED PRIVATE KEY ----",
            b3.join("\n")
        ),
        &r3,
    ));
    // JSON in JSON: `\\n` double escapes.
    let (k4, b4) = pem("PRIVATE KEY", 24);
    let r4: Vec<&str> = b4.iter().map(String::as_str).collect();
    let dbl = k4.replace('\n', "\\\\n");
    out.push(sec(
        c,
        format!(r#"{{"secret_string":"{{\"pk\":\"{dbl}\"}}"}}"#),
        &r4,
    ));
    // Percent-encoded in a query value.
    let (k5, b5) = pem("PRIVATE KEY", 25);
    let r5: Vec<&str> = b5.iter().map(String::as_str).collect();
    let enc = k5
        .replace('\n', "%0A")
        .replace(' ', "%20")
        .replace('+', "%2B")
        .replace('/', "%2F");
    let enc_lines: Vec<String> = b5
        .iter()
        .map(|l| l.replace('+', "%2B").replace('/', "%2F"))
        .collect();
    let mut r5 = r5;
    r5.extend(enc_lines.iter().map(String::as_str));
    out.push(secm(c, Mode::Query, format!("cert=abc&k={enc}"), &r5));
    // Key after a secret-free tracing prefix, in a single Debug string in pretty Debug.
    let (k6, b6) = pem("OPENSSH PRIVATE KEY", 26);
    let r6: Vec<&str> = b6.iter().map(String::as_str).collect();
    let mut m = BTreeMap::new();
    m.insert("deploy_identity", k6.as_str());
    out.push(sec(c, format!("{m:#?}"), &r6));
}

fn hard_json_cases(out: &mut Vec<Secret>) {
    let c = "4-json";
    let cases: &[(&str, &[&str])] = &[
        (r#"{"PASSWORD":"upperKeyJ-4Wq8"}"#, &["upperKeyJ-4Wq8"]),
        (r#"{"password":12345678901}"#, &["12345678901"]),
        (
            r#"{"body":"{\u0022password\u0022:\u0022uniQuote-5Tz2Lm\u0022}"}"#,
            &["uniQuote-5Tz2Lm"],
        ),
        (
            r"{'user': 'bob', 'password': 'it\'s-aPw-9Kq3'}",
            &[r"it\'s-aPw-9Kq3"],
        ),
        (
            r#"{"password":"\u0041bcDef-uni1234"}"#,
            &[r"\u0041bcDef-uni1234"],
        ),
        (
            r#"{"query":"mutation Login($p: String!) { login(password: $p) }","variables":{"password":"gqlVar-7Lx2Wq"}}"#,
            &["gqlVar-7Lx2Wq"],
        ),
        (
            r#"{"grant_type":"password","username":"bob","password":"grantPw-3Rk8Tz"}"#,
            &["grantPw-3Rk8Tz"],
        ),
        (
            r#"{"key":"password","value":"postmanVal-6Wz1Qm","enabled":true}"#,
            &["postmanVal-6Wz1Qm"],
        ),
        (
            r#"{"auths":{"ghcr.io":{"auth":"Ym9iOmRvY2tlckF1dGgtOFF6"}}}"#,
            &["Ym9iOmRvY2tlckF1dGgtOFF6"],
        ),
        (
            r#"{"url":"postgres:\/\/app:jsonEscUrl-4Kd9@db\/app"}"#,
            &["jsonEscUrl-4Kd9"],
        ),
        (
            "{\"password\"\n:\n\"splitLines-8Tq2Wm\"}",
            &["splitLines-8Tq2Wm"],
        ),
        (
            r#"{"dbPassword":"camelDb-2Nx7Lk","smtpPass":"camelSmtp-5Wq9Rt"}"#,
            &["camelDb-2Nx7Lk", "camelSmtp-5Wq9Rt"],
        ),
    ];
    for (input, secrets) in cases {
        out.push(sec(c, *input, secrets));
    }
}

fn hard_http_cases(out: &mut Vec<Secret>) {
    let c = "5-http";
    let cases: &[(&str, &[&str])] = &[
        (
            "Authorization: Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnagMDAuBgkqhkiC9xIBAgI",
            &["YIIGhgYGKwYBBQUCoIIGejCCBnagMDAuBgkqhkiC9xIBAgI"],
        ),
        (
            "Authorization: NTLM TlRMTVNTUAADAAAAGAAYAEgAAAAYABgAYAAAAA",
            &["TlRMTVNTUAADAAAAGAAYAEgAAAAYABgAYAAAAA"],
        ),
        (
            "Authorization: ApiKey apiKeyScheme-7Lq2Wz",
            &["apiKeyScheme-7Lq2Wz"],
        ),
        (
            "Authorization: SharedKey myaccount:ctzMq410TV3wS7upTBcunJTDLEJwMAZuFPfr0mrrA08=",
            &["ctzMq410TV3wS7upTBcunJTDLEJwMAZuFPfr0mrrA08="],
        ),
        (
            "Authorization: DPoP dpopTok-4Wz8Qm3Lk",
            &["dpopTok-4Wz8Qm3Lk"],
        ),
        (
            "Authorization: Token token=\"railsTok-8Kq3Lm\", user=\"bob\"",
            &["railsTok-8Kq3Lm"],
        ),
        (
            "Ocp-Apim-Subscription-Key: apimKeyHdr-5Rt2Wq",
            &["apimKeyHdr-5Rt2Wq"],
        ),
        ("Private-Token: gitlabPriv-9Xk3Lz", &["gitlabPriv-9Xk3Lz"]),
        (
            "X-Shopify-Hmac-Sha256: aGVsbG9IbWFjU2lnbmF0dXJlMTIzNDU2Nzg=",
            &["aGVsbG9IbWFjU2lnbmF0dXJlMTIzNDU2Nzg="],
        ),
        (
            "X-Registry-Auth: eyJ1c2VybmFtZSI6ImJvYiIsInBhc3N3b3JkIjoicmVnQXV0aCJ9",
            &["eyJ1c2VybmFtZSI6ImJvYiIsInBhc3N3b3JkIjoicmVnQXV0aCJ9"],
        ),
        (
            "Cookie:sid=noSpaceCookie-4Lm8;theme=dark",
            &["noSpaceCookie-4Lm8"],
        ),
        (
            "Cookie: sid=\"quotedCookie-7Wz2\"; lang=en",
            &["quotedCookie-7Wz2"],
        ),
        (
            "Set-Cookie: a=1; Path=/, session=joinedSetCookie-3Kq9; HttpOnly",
            &["joinedSetCookie-3Kq9"],
        ),
        (
            "POST /token body: grant_type=authorization_code&code=formCode-6Tz3Lm&code_verifier=pkceVerifier-8Wq2Lk9Zr",
            &["formCode-6Tz3Lm", "pkceVerifier-8Wq2Lk9Zr"],
        ),
        (
            "grant_type=refresh_token&refresh_token=formRefresh-2Lx7Qm",
            &["formRefresh-2Lx7Qm"],
        ),
        (
            "client_assertion_type=urn%3Aietf%3Aparams&client_assertion=assertionVal-5Rk9Wz",
            &["assertionVal-5Rk9Wz"],
        ),
    ];
    for (input, secrets) in cases {
        out.push(sec(c, *input, secrets));
    }
    out.push(secm(
        c,
        Mode::Header("Sec-Api-Credential"),
        "secCred-7Xq2Lm",
        &["secCred-7Xq2Lm"],
    ));
    out.push(secm(
        c,
        Mode::Header("X-Passcode"),
        "passcodeHdr-4Kw8",
        &["passcodeHdr-4Kw8"],
    ));
    out.push(secm(
        c,
        Mode::Query,
        "code_verifier=qPkce-9Lm3Wz7Kq",
        &["qPkce-9Lm3Wz7Kq"],
    ));
}

fn hard_encoding_cases(out: &mut Vec<Secret>) {
    let c = "6-encoding";
    let cases: &[(&str, &[&str])] = &[
        (
            "GET /bot123456789%3aAAHdqTcvCH1vGWJxfSeofSAs0K5PALDsbb/getMe",
            &["AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsbb"],
        ),
        (
            "header dump Authorization%3A%20Bearer%20pctBearer-7Wq3Lm",
            &["pctBearer-7Wq3Lm"],
        ),
        ("tok%65n%3DfullyEnc-4Kd8Wz in path", &["fullyEnc-4Kd8Wz"]),
        (
            "/callback%3Fcode%3DpathCode-3Lq9%26state%3Dx",
            &["pathCode-3Lq9"],
        ),
        (
            "next=https%253A%252F%252Fapp%252Fcb%253Fpassword%253DdblPath-6Tz2",
            &["dblPath-6Tz2"],
        ),
    ];
    for (input, secrets) in cases {
        out.push(sec(c, *input, secrets));
    }
}

fn hard_prose_cases(out: &mut Vec<Secret>) {
    let c = "7-prose";
    let cases: &[(&str, &[&str])] = &[
        ("the password is isPw-8Kq2Wz9", &["isPw-8Kq2Wz9"]),
        ("Password:\tTabbedPw-4Lm7", &["TabbedPw-4Lm7"]),
        (
            "declare -x API_SECRET=\"declareX-7Wz3\"",
            &["declareX-7Wz3"],
        ),
        ("set DB_PASSWORD=winSet-5Tq8", &["winSet-5Tq8"]),
        ("$env:API_KEY = \"psEnv-2Rk9Lm\"", &["psEnv-2Rk9Lm"]),
        (
            "environment:\n  - POSTGRES_PASSWORD=composePw-6Wq1",
            &["composePw-6Wq1"],
        ),
        (
            "apiVersion: v1\nkind: Secret\ndata:\n  password: azhzU2VjcmV0UHctOVF6\n",
            &["azhzU2VjcmV0UHctOVF6"],
        ),
        (
            "//registry.example.com/:_authToken=npmrcTok-3Lk8Wq",
            &["npmrcTok-3Lk8Wq"],
        ),
        ("_password=bnBtUGFzc3dvcmQtN1E=", &["bnBtUGFzc3dvcmQtN1E="]),
        (
            "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = awsIniSec/K7MDENG/bPxRfi8Qz",
            &["awsIniSec/K7MDENG/bPxRfi8Qz"],
        ),
        ("AUTH \"spaced redis pw 9Kq\"", &["spaced redis pw 9Kq"]),
        (
            "CONFIG SET requirepass newRequire-4Wz7",
            &["newRequire-4Wz7"],
        ),
        ("requirepass confRequire-8Lq2", &["confRequire-8Lq2"]),
        ("masterauth replAuth-5Tk9Wm", &["replAuth-5Tk9Wm"]),
        (
            "MIGRATE host 6379 key 0 5000 AUTH2 default migAuth-3Rz8",
            &["migAuth-3Rz8"],
        ),
        (
            "mysql -u root -p'quoted mysql 7Wq' app",
            &["quoted mysql 7Wq"],
        ),
        ("sasl.password=kafkaSasl-6Lm2Qz", &["kafkaSasl-6Lm2Qz"]),
        (
            "ssl.keystore.password=keystorePw-9Wk3",
            &["keystorePw-9Wk3"],
        ),
        (
            "spring.datasource.password=springPw-4Tz7Lm",
            &["springPw-4Tz7Lm"],
        ),
        (
            "sqlplus scott/sqlplusPw-2Kq8@//db:1521/ORCL",
            &["sqlplusPw-2Kq8"],
        ),
        ("with pass phrase 'phrasePw-7Lw3Qz'", &["phrasePw-7Lw3Qz"]),
    ];
    for (input, secrets) in cases {
        out.push(sec(c, *input, secrets));
    }
    let c = "url-credentials";
    let cases: &[(&str, &[&str])] = &[
        (
            "POSTGRES://app:upperScheme-5Kd2@db/app",
            &["upperScheme-5Kd2"],
        ),
        (
            "redis+sentinel://u:sentinelPw-8Wq3@s1:26379,s2:26379/mymaster",
            &["sentinelPw-8Wq3"],
        ),
        (
            "fetch //user:protoRel-3Lk7@cdn.example.com/x",
            &["protoRel-3Lk7"],
        ),
        (
            "postgres://u:zonePw-6Tq2@[fe80::1%25eth0]:5432/app",
            &["zonePw-6Tq2"],
        ),
        (
            "https://elastic:question?Pw-9Zx4@es:9200/_cluster/health",
            &["question?Pw-9Zx4"],
        ),
    ];
    for (input, secrets) in cases {
        out.push(sec(c, *input, secrets));
    }
    let c = "conn-string";
    let cases: &[(&str, &[&str])] = &[
        (
            "Server=sql;User ID = app ; Password = spacedAdo-7Kq2 ;Database=app",
            &["spacedAdo-7Kq2"],
        ),
        (
            "Server=sql;Password='single;quoted-4Wz8';Database=app",
            &["single;quoted-4Wz8"],
        ),
        (
            "account=acme;user=etl;password=snowPw-3Lm9Tq;warehouse=wh",
            &["snowPw-3Lm9Tq"],
        ),
        (
            "host=db user=app sslpassword=libpqSsl-6Rk2 sslkey=/etc/app/key.pem",
            &["libpqSsl-6Rk2"],
        ),
    ];
    for (input, secrets) in cases {
        out.push(sec(c, *input, secrets));
    }
}

fn hard_look_alikes(v: &mut Vec<Look>) {
    let c = "8-prose";
    for s in [
        "FATAL:  password authentication failed for user \"app\"",
        "Access denied for user 'root'@'localhost' (using password: YES)",
        "Client sent AUTH, but no password is set",
        "keyring backend: secret-service",
        "HTTP status code 404",
        "process exited with exit code: 1",
        "key_size=4096 curve=P-256",
        "120 tokens/sec",
        "kubelet --token-file /var/run/secrets/kubernetes.io/serviceaccount/token",
        "verifying X-Hub-Signature-256 header",
        "thread 'main' panicked at src/secret_store.rs:10:5:",
        "at src/api_key.rs:3:1",
    ] {
        v.push(look(c, s));
    }
    let c = "8-cli";
    for s in [
        "python -m pytest -p no:cacheprovider",
        "ps -p 1234 -o rss",
        "cp -p a.txt b.txt",
        "uname -a",
        "git commit -a -m \"fix parser\"",
        "mysql -h db -P 3306 -u app",
    ] {
        v.push(look(c, s));
    }
    let c = "8-json";
    for s in [
        r#"{"access_token_expires_in":3600,"token_type":"Bearer","scope":"read"}"#,
        r#"{"kid":"2024-01-rotation","alg":"RS256","use":"sig"}"#,
        r#"{"password":null}"#,
    ] {
        v.push(look(c, s));
    }
    v.push(look("8-debug", "Task { id: 7, state: Running }"));
    v.push(look("8-debug", "Session { id: 42, user_id: 7 }"));
    for (name, value) in [
        ("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        ("Content-MD5", "Q2hlY2sgSW50ZWdyaXR5IQ=="),
    ] {
        v.push(lookm("8-headers", Mode::Header(name), value));
    }
    v.push(look("8-http", "X-Amz-Content-Sha256: UNSIGNED-PAYLOAD"));
    v.push(look(
        "8-http",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    ));
}

/// Sensitive key names, each as an env-dump line, a JSON member and a Debug field.
fn key_name_cases(out: &mut Vec<Secret>) {
    let names = [
        "pw",
        "pass",
        "pwd",
        "passcode",
        "otp",
        "totp_secret",
        "mfa_secret",
        "mnemonic",
        "seed_phrase",
        "priv_key",
        "privkey",
        "encryption_key",
        "master_key",
        "hmac_key",
        "signing_key",
        "jwt",
        "sessid",
        "PHPSESSID",
        "JSESSIONID",
        "connect.sid",
        "laravel_session",
        "license_key",
        "auth_code",
        "reset_token",
        "consumer_secret",
        "oauth_token_secret",
        "api_secret",
        "credential",
        "creds",
        "authkey",
        "apikey",
        "shared_secret",
        "psk",
        "wpa_passphrase",
        "storepass",
        "keypass",
        "MYSQL_ROOT_PASSWORD",
        "ANSIBLE_VAULT_PASSWORD",
        "VAULT_TOKEN",
        "CI_JOB_TOKEN",
        "TWINE_PASSWORD",
        "CARGO_REGISTRY_TOKEN",
        "TELEGRAM_BOT_TOKEN",
        "SECRET_KEY_BASE",
        "APP_KEY",
        "NEXTAUTH_SECRET",
        "COOKIE_SECRET",
        "SESSION_KEY",
        "SSH_KEY",
        "GPG_PASSPHRASE",
    ];
    for (i, name) in names.iter().enumerate() {
        let value = format!("kn{i:02}Val-{}", &b64_lines(100 + i as u64, 1, 10)[0]);
        let value = value.replace(['+', '/'], "x");
        out.push(sec("key-names", format!("{name}={value}"), &[&value]));
        out.push(sec(
            "key-names",
            format!(r#"{{"{name}":"{value}","ok":true}}"#),
            &[&value],
        ));
        if name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            out.push(sec(
                "key-names",
                format!("Settings {{ {name}: \"{value}\", port: 80 }}"),
                &[&value],
            ));
        }
    }
}

fn wrapped_value_cases(out: &mut Vec<Secret>) {
    let c = "1-debug";
    let cases: &[(&str, &[&str])] = &[
        (
            r#"Config { api_key: ApiKey("newtypeField-5Kq2Wz"), port: 80 }"#,
            &["newtypeField-5Kq2Wz"],
        ),
        (
            r#"Config { password: Some(Password("optNewtype-8Lm3Tq")) }"#,
            &["optNewtype-8Lm3Tq"],
        ),
        (
            r#"Config { token: Token { raw: "structInField-3Wz7Lk" } }"#,
            &["structInField-3Wz7Lk"],
        ),
        (
            r#"Client { auth: Some(Basic("admin", "basicTuple-6Rq2Wm")) }"#,
            &["basicTuple-6Rq2Wm"],
        ),
        (
            r#"Keys { api_keys: ["vecUnderKey1-4Tz8", "vecUnderKey2-9Lq3"] }"#,
            &["vecUnderKey1-4Tz8", "vecUnderKey2-9Lq3"],
        ),
        (
            "Keys {\n    api_keys: [\n        \"prettyVec1-2Wk7\",\n        \"prettyVec2-7Nz4\",\n    ],\n}",
            &["prettyVec1-2Wk7", "prettyVec2-7Nz4"],
        ),
        (
            r#"Vault { tokens: {"ci": "mapUnderKey-5Hq2Lz"} }"#,
            &["mapUnderKey-5Hq2Lz"],
        ),
        (
            r#"Wallet { mnemonic: "abandon ability able about above absent absorb abstract absurd abuse access accident" }"#,
            &[
                "abandon ability able about above absent absorb abstract absurd abuse access accident",
            ],
        ),
    ];
    for (input, secrets) in cases {
        out.push(sec(c, *input, secrets));
    }
    // A title cut mid-value by the tracing layer (cut before scrubbing).
    out.push(sec(
        "7-prose",
        "connect failed: host=db user=app password='correct horse battery…",
        &["correct horse battery"],
    ));
}

fn name_look_alikes(v: &mut Vec<Look>) {
    for s in [
        "keystone_url=http://keystone:5000/v3",
        "turnkey=true hockey=false jockey=3",
        "tokenomics_report=weekly",
        "passthrough=true",
        "pwa_enabled=true",
        "pwm_duty=50",
        "seed=42 cases=256",
        "token_endpoint=https://auth.example.com/oauth/token",
        "authorization_endpoint=https://auth.example.com/oauth/authorize",
        "keycloak_realm=main",
        "pinned=true spinner=dots",
        "passive_mode=on",
        "author_id=42",
        "authz_policy=rbac",
        "otp_enabled=true",
    ] {
        v.push(look("8-words", s));
    }
}

fn secrets() -> Vec<Secret> {
    let mut v = Vec::new();
    debug_cases(&mut v);
    key_cases(&mut v);
    json_cases(&mut v);
    http_cases(&mut v);
    encoding_cases(&mut v);
    prose_cases(&mut v);
    url_cases(&mut v);
    connstr_cases(&mut v);
    hard_debug_cases(&mut v);
    hard_key_cases(&mut v);
    hard_json_cases(&mut v);
    hard_http_cases(&mut v);
    hard_encoding_cases(&mut v);
    hard_prose_cases(&mut v);
    key_name_cases(&mut v);
    wrapped_value_cases(&mut v);
    v
}

/// The outputs of every way `mode` applies to `input`, each with its placement name.
fn run(s: &Scrubber, mode: Mode, input: &str) -> Vec<(&'static str, String)> {
    match mode {
        Mode::Text => {
            let mut out = vec![("text", s.scrub_text(input))];
            if input.contains('\n') {
                out.push(("backtrace", s.scrub_backtrace(input)));
            }
            out
        }
        Mode::Query => vec![("query", s.scrub_query(input))],
        Mode::Header(name) => {
            let h = s.scrub_headers(&[(name.to_owned(), input.to_owned())]);
            let joined = h
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join("\n");
            vec![("header", joined)]
        }
    }
}

/// The leaked piece of `secret` in `output`, if any: the whole secret, or an 8-character
/// window of it found nowhere else in `input`.
fn leaked(input: &str, output: &str, secret: &str) -> Option<String> {
    if output.contains(secret) {
        return Some(secret.to_owned());
    }
    let rest = input.replace(secret, "\u{0}");
    let chars: Vec<char> = secret.chars().collect();
    chars
        .windows(8)
        .map(|w| w.iter().collect::<String>())
        .find(|w| !rest.contains(w.as_str()) && output.contains(w.as_str()))
}

/// The corpus is sound: with no scrubbing at all, every case leaks (each case holds a listed
/// secret that the checker sees), so a scrubber that does nothing cannot pass.
fn self_check(secrets: &[Secret]) {
    for case in secrets {
        assert!(
            case.secrets
                .iter()
                .any(|sec| leaked(&case.input, &case.input, sec).is_some()),
            "case holds none of its secrets: {:?}",
            case.input
        );
    }
}

#[test]
fn redteam_corpus() {
    let s = Scrubber::default();
    let secrets = secrets();
    let mut looks = look_alikes();
    hard_look_alikes(&mut looks);
    name_look_alikes(&mut looks);
    self_check(&secrets);
    assert!(secrets.len() >= 150, "{} secret cases", secrets.len());
    assert!(looks.len() >= 100, "{} look-alikes", looks.len());

    let mut leaks = 0usize;
    let mut leaking_cases = 0usize;
    for case in &secrets {
        let mut case_leaks = Vec::new();
        for (place, out) in run(&s, case.mode, &case.input) {
            for secret in &case.secrets {
                if let Some(piece) = leaked(&case.input, &out, secret) {
                    case_leaks.push((place, secret.clone(), piece, out.clone()));
                }
            }
        }
        if !case_leaks.is_empty() {
            leaking_cases += 1;
            for (place, secret, piece, out) in case_leaks {
                leaks += 1;
                println!(
                    "LEAK [{}] {:?}/{place}\n  in : {:?}\n  out: {:?}\n  secret {:?} piece {:?}",
                    case.class, case.mode, case.input, out, secret, piece
                );
            }
        }
    }
    let mut damaged = 0usize;
    for case in &looks {
        for (place, out) in run(&s, case.mode, &case.input) {
            let expected = match case.mode {
                Mode::Header(name) => format!("{name}: {}", case.input),
                _ => case.input.clone(),
            };
            if out != expected {
                damaged += 1;
                println!(
                    "DAMAGE [{}] {:?}/{place}\n  in : {:?}\n  out: {:?}",
                    case.class, case.mode, expected, out
                );
            }
        }
    }
    println!(
        "secret cases: {} ({} leaking, {} leaks); look-alikes: {} ({} damaged)",
        secrets.len(),
        leaking_cases,
        leaks,
        looks.len(),
        damaged
    );
    assert_eq!((leaking_cases, damaged), (0, 0), "leaks and damages above");
}
