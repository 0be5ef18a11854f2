//! Secrets named by their shape of text (not by a provider's token format): `(class, secret,
//! carrier)` where `{}` in the carrier stands for the secret. Every secret here is made up.

/// Secrets carried by structure: Debug output, JSON, HTTP, URLs, encodings, prose, key blocks.
pub(crate) const SHAPE_SECRETS: &[(&str, &str, &str)] = &[
    // 1. Rust Debug shapes.
    (
        "debug",
        "Dbg-Opt-Key-11aa",
        r#"Config { api_key: Some("{}"), port: 8080 }"#,
    ),
    (
        "debug",
        "Dbg-Pass-22bb",
        r#"DbConfig { host: "db", pass: "{}", pool: 8 }"#,
    ),
    ("debug", "Dbg-Pwd-33cc", r#"Settings { pwd: Some("{}") }"#),
    (
        "debug",
        "Dbg-Phrase-44dd",
        r#"KeyFile { passphrase: "{}", path: "/etc/k" }"#,
    ),
    (
        "debug",
        "Dbg-SecretKey-55ee",
        r#"Aws { secret_key: "{}", region: "eu-west-1" }"#,
    ),
    (
        "debug",
        "Dbg-ClientSecret-66ff",
        r#"OAuthApp { client_id: "web", client_secret: "{}" }"#,
    ),
    (
        "debug",
        "Dbg-Creds-77gg",
        r#"Conn { credentials: "{}", retries: 3 }"#,
    ),
    (
        "debug",
        "Dbg-Tuple-88hh",
        r#"[("AWS_SECRET_ACCESS_KEY", "{}"), ("AWS_REGION", "eu")]"#,
    ),
    (
        "debug",
        "Dbg-TupleDb-99ii",
        r#"env: [("HOME", "/root"), ("DATABASE_PASSWORD", "{}")]"#,
    ),
    (
        "debug",
        "Dbg-HdrVec-10jj",
        r#"headers: [("accept", "*/*"), ("x-api-key", "{}")]"#,
    ),
    (
        "debug",
        "Dbg-HdrMap-11kk",
        r#"{"content-type": "application/json", "x-auth-token": "{}"}"#,
    ),
    (
        "debug",
        "Dbg-BTree-12ll",
        r#"{"db_pwd": "{}", "db_user": "app"}"#,
    ),
    ("debug", "Dbg-TupleStruct-13mm", r#"Password("{}")"#),
    (
        "debug",
        "Dbg-ApiKeyNew-14nn",
        r#"Client { key: ApiKey("{}"), base: "https://api" }"#,
    ),
    (
        "debug",
        "Dbg-SecretStr-15oo",
        r#"Token(SecretString("{}"))"#,
    ),
    (
        "debug",
        "Dbg-Nested-16pp",
        r#"App { db: Db { url: "pg", password: "{}" }, name: "x" }"#,
    ),
    (
        "debug",
        "Dbg-NestedCreds-17qq",
        r#"Req { credentials: Credentials { user: "u", secret: "{}" } }"#,
    ),
    (
        "debug",
        "Dbg-PrivKey-18rr",
        r#"Signer { private_key: "{}" }"#,
    ),
    (
        "debug",
        "Dbg-NameValue-19ss",
        r#"Header { name: "authorization", value: "{}" }"#,
    ),
    (
        "debug",
        "Dbg-NameValue2-20tt",
        r#"Param { name: "refresh_token", value: "{}" }"#,
    ),
    (
        "debug",
        "Dbg-Pretty-21uu",
        "Config {\n    api_token: Some(\n        \"{}\",\n    ),\n}",
    ),
    (
        "debug",
        "Dbg-Escaped-22vv",
        r#"Config { password: "a\"{}" }"#,
    ),
    (
        "debug",
        "Dbg-Session-23ww",
        r#"Ctx { session_id: "{}", user: 7 }"#,
    ),
    (
        "debug",
        "Dbg-Camel-24xx",
        r#"{"accessToken":"{}","expiresIn":3600}"#,
    ),
    (
        "debug",
        "Dbg-OkWrap-25yy",
        r#"Ok(Login { password: Ok("{}") })"#,
    ),
    // 2. Multi-line private keys.
    (
        "pem",
        "MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQC7sEcrEtBody",
        "-----BEGIN PRIVATE KEY-----\n{}\nQm9keUxpbmVUd29PZlRoZUtleUFuZE1vcmVTdHVmZg==\n-----END PRIVATE KEY-----",
    ),
    (
        "pem",
        "MIIEpAIBAAKCAQEA1RsaRsaBodyLineOneOfTheKeyXyZ0123456789abcd",
        "-----BEGIN RSA PRIVATE KEY-----\n{}\nUnNhTGluZVR3b09mVGhlS2V5\n-----END RSA PRIVATE KEY-----",
    ),
    (
        "pem",
        "MHcCAQEEIEcSecp256EcBodyLineOneOfKeyQwErTy0987654321ZxCv",
        "-----BEGIN EC PRIVATE KEY-----\n{}\n-----END EC PRIVATE KEY-----",
    ),
    (
        "pem",
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQOpenSshBody01",
        "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\nAAAAC3NzaC1lZDI1NTE5AAAAIOpenSshLineTwo\n-----END OPENSSH PRIVATE KEY-----",
    ),
    (
        "pem",
        "lQdGBGSPgpBodyLineOneOfTheArmouredKeyAsdfGhjk0192837465",
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{}\n=AbCd\n-----END PGP PRIVATE KEY BLOCK-----",
    ),
    (
        "pem",
        "MIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqEncryptedBodyLine01",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\n{}\n-----END ENCRYPTED PRIVATE KEY-----",
    ),
    (
        "pem",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCJsonEscapedBody0001",
        "{\"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{}\\n-----END PRIVATE KEY-----\\n\"}",
    ),
    (
        "pem",
        "MIIEvQIBADANBgkqhkiG9w0TruncatedBodyNoEndLine0002",
        "loaded key -----BEGIN PRIVATE KEY-----\n{}\nAAAA",
    ),
    (
        "pem",
        "AAAAB3NzaC1yc2EAAAADAQABPuttyPrivateLinesBody0003",
        "PuTTY-User-Key-File-2: ssh-rsa\nEncryption: none\nPublic-Lines: 1\nAAAAB3Nz\nPrivate-Lines: 1\n{}\nPrivate-MAC: 0a1b2c3d4e5f",
    ),
    // 3. Connection strings.
    (
        "connstr",
        "AzStorKey0123456789abcdefABCDEFghij+/kl==",
        "DefaultEndpointsProtocol=https;AccountName=acct1;AccountKey={};EndpointSuffix=core.windows.net",
    ),
    (
        "connstr",
        "SbSasKey0123456789abcdefABCDEFghijkl+/m=",
        "Endpoint=sb://ns1.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey={}",
    ),
    (
        "connstr",
        "SqlPwd;with;semis-0099",
        "Server=tcp:db.example.net,1433;Database=app;User ID=app;Pwd={{}};Encrypt=true",
    ),
    (
        "connstr",
        "SqlPassword-4455",
        "Server=db;Database=app;User Id=sa;Password={};TrustServerCertificate=True",
    ),
    (
        "connstr",
        "MongoPw-7788x",
        "mongodb+srv://admin:{}@cluster0.mongodb.net/app?retryWrites=true",
    ),
    ("connstr", "AmqpPw-8899y", "amqp://guest:{}@rabbit:5672/%2f"),
    (
        "connstr",
        "Red/is#Pw?x@1",
        "redis://default:{}@cache:6379/0",
    ),
    (
        "connstr",
        "MyPw-9900zz",
        "mysql://root:{}@localhost:3306/app",
    ),
    (
        "connstr",
        "PgPw-1122ab",
        "host=db port=5432 user=app password={} dbname=app",
    ),
    (
        "connstr",
        "JdbcPw-3344cd",
        "jdbc:postgresql://db/app?user=app&password={}&ssl=true",
    ),
    // 4. JSON.
    (
        "json",
        "Json-Plain-5566ef",
        r#"{"user":"bob","password":"{}"}"#,
    ),
    ("json", "pa\\\"ss-Json-7788", r#"{"password":"{}","n":1}"#),
    (
        "json",
        "Json-Inner-9900gh",
        r#"{"body":"{\"password\":\"{}\",\"user\":\"bob\"}"}"#,
    ),
    (
        "json",
        "Json-Inner2-1133ij",
        r#"{"event":"{\"headers\":{\"authorization\":\"Bearer {}\"}}"}"#,
    ),
    (
        "json",
        "Json-Arr-2244kl",
        r#"{"keys":["{}","Json-Arr-next-00"]}"#,
    ),
    ("json", "Json-Spaces-in-it 3355 mn", r#"{"secret": "{}"}"#),
    ("json", "Json-Camel-4466op", r#"{"clientSecret":"{}"}"#),
    (
        "json",
        "Json-Num-5577qr",
        r#"{"stripe_key":"{}","amount":100}"#,
    ),
    (
        "json",
        "Json-Deep-6688st",
        r#"{"a":{"b":{"c":{"api_key":"{}"}}}}"#,
    ),
    ("json", "Json-Single-7799uv", "{'password': '{}'}"),
    // 5. HTTP.
    (
        "http",
        "Cookie-First-8800wx",
        "Cookie: session={}; theme=dark",
    ),
    (
        "http",
        "Cookie-Third-9911yz",
        "Cookie: theme=dark; lang=en; sid={}",
    ),
    (
        "http",
        "Cookie-Middle-0022ab",
        "cookie: a=1; remember_me={}; b=2",
    ),
    (
        "http",
        "SetCookie-1133cd",
        "Set-Cookie: id={}; Path=/; HttpOnly; Secure",
    ),
    (
        "http",
        "OAuthCode-2244ef",
        "GET /oauth/callback?code={}&state=xyz",
    ),
    ("http", "AuthzBearer-3355gh", "Authorization: Bearer {}"),
    ("http", "AuthzBasic-4466ij", "Authorization: Basic {}"),
    ("http", "ProxyAuthz-5577kl", "Proxy-Authorization: Basic {}"),
    ("http", "XApiKey-6688mn", "X-Api-Key: {}"),
    ("http", "GoogApiKey-7799op", "X-Goog-Api-Key: {}"),
    ("http", "SubsKey-8800qr", "Ocp-Apim-Subscription-Key: {}"),
    ("http", "HubSig-9911st", "X-Hub-Signature-256: sha256={}"),
    ("http", "CsrfTok-0022uv", "X-CSRF-Token: {}"),
    ("http", "SessHdr-1133wx", "X-Session-Token: {}"),
    (
        "http",
        "AmzSig-2244yz",
        "GET /b/o?X-Amz-Signature={}&X-Amz-Expires=300",
    ),
    (
        "http",
        "AccessTok-3355ab",
        "https://api.example.com/v1/me?access_token={}",
    ),
    (
        "http",
        "Bearer-Free-4466cd",
        "retrying with bearer {} after 401",
    ),
    ("http", "Token-Free-5577ef", "sent header `Token {}`"),
    (
        "http",
        "AwsV4-Sig-6688gh",
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/x, Signature={}",
    ),
    // 6. Encodings.
    ("encoded", "PctTok-7799ij", "GET /api/tok%65n={}/items"),
    ("encoded", "PctKey-8800kl", "callback?api%5Fkey={}&v=2"),
    (
        "encoded",
        "PctSep-9911mn",
        "body: password%3D{}%26user%3Dbob",
    ),
    (
        "encoded",
        "PctJson-0022op",
        "q=%7B%22password%22%3A%22{}%22%7D",
    ),
    (
        "encoded",
        "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        "GET /bot123456789%3A{}/getMe",
    ),
    (
        "encoded",
        "PctVal%2FSlash-1133",
        "redirect?secret={}&next=%2Fhome",
    ),
    // 7. Prose.
    (
        "prose",
        "ProseQuoted-2244qr",
        "login failed: password '{}' rejected",
    ),
    (
        "prose",
        "ProseDouble-3355st",
        "using password \"{}\" for the replica",
    ),
    ("prose", "ProsePasswd-4466uv", "passwd {}"),
    ("prose", "ProseIs-5577wx", "the password is {}"),
    (
        "prose",
        "NetrcPw-6688yz",
        "machine api.example.com login deploy password {}",
    ),
    ("prose", "RedisAuth-7799ab", "sent AUTH {} to 10.0.0.5:6379"),
    ("prose", "RedisAuthUser-8800cd", "AUTH default {}"),
    (
        "prose",
        "RedisDbgAuth-9911ef",
        r#"Cmd { args: ["AUTH", "app", "{}"] }"#,
    ),
    (
        "prose",
        "ProsePassphrase-0022gh",
        "unlocking with passphrase {}",
    ),
    // Generic key=value forms (class 1/7 in logs).
    ("kv", "KvEq-1133ij", "db_password={} host=db"),
    ("kv", "KvColon-2244kl", "api_token: {}"),
    ("kv", "KvArrow-3355mn", "%{:secret => \"{}\"}"),
    ("kv", "KvEnv-4466op", "export GITHUB_TOKEN={}"),
    (
        "kv",
        "KvYaml-5577qr",
        "spring:\n  datasource:\n    password: {}\n",
    ),
    ("kv", "KvToml-6688st", "[database]\npassword = \"{}\"\n"),
    ("kv", "KvRails-7799uv", "user[password]={}&user[name]=bob"),
    ("kv", "KvDotted-8800wx", "spring.datasource.password={}"),
    ("kv", "KvOtp-9911yz", "otp={}"),
    ("kv", "KvPin-0022ab", "card pin: {}"),
    ("kv", "KvSig-1133cd", "?expires=1700000000&sig={}"),
    ("kv", "KvKey-2244ef", "key={}"),
    ("kv", "KvPrivate-3355gh", "PRIVATE_KEY={}"),
    ("kv", "KvDsn-4466ij", "SENTRY_DSN={}"),
    ("kv", "KvSalt-5577kl", "salt={}"),
    (
        "kv",
        "KvRefresh-6688mn",
        "refresh_token={}&grant_type=refresh_token",
    ),
    ("kv", "KvXml-7799op", "<password>{}</password>"),
    // URLs with credentials.
    (
        "url",
        "UrlPw-8800qr",
        "https://deploy:{}@git.example.com/repo.git",
    ),
    (
        "url",
        "UrlPwOnly-9911st",
        "connect redis://:{}@cache.internal:6379/0 refused",
    ),
    (
        "url",
        "UrlUser-Pw/x@y-0022",
        "ftp://ops:{}@files.example.com/",
    ),
    (
        "url",
        "UrlQueryPw-1133uv",
        "rediss://cache:6380/0?password={}",
    ),
    // Card numbers.
    ("card", "4111 1111 1111 1111", "charge declined for card {}"),
    ("card", "5500-0000-0000-0004", "card={} exp=12/29"),
    ("card", "378282246310005", "amex {} declined"),
];
