//! The layer over real HTTP (a served axum app, reqwest) on the memory store, with a manual
//! clock: exact quotas, keys, proxies, IPv6 grouping, routes, headers and refusals.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{START, client, engine, header, serve_layer};
use http::{HeaderName, Method, StatusCode};
use sentinel_core::{Algorithm, ManualClock, Policy, PolicyRegistry, Quota, Scope, Sentinel};
use sentinel_storage_memory::MemoryStore;
use sentinel_tower::{ClientKey, Key, RateLimitLayer, RateLimitLayerBuilder, RefusalKind};

fn memory(policies: PolicyRegistry) -> (Sentinel, ManualClock) {
    let clock = ManualClock::new(START);
    let sentinel = engine(Arc::new(MemoryStore::new(clock.clone())), &clock, policies);
    (sentinel, clock)
}

fn per_client(limit: u32, period: Duration, algorithm: Algorithm) -> PolicyRegistry {
    PolicyRegistry::single(Policy::new().rate_limit(
        Quota::new(limit, period).unwrap(),
        algorithm,
        Scope::Custom,
    ))
    .unwrap()
}

fn api_key() -> Key {
    Key::header(HeaderName::from_static("x-api-key"))
}

async fn get(url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = client().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

async fn status(url: &str, headers: &[(&str, &str)]) -> u16 {
    get(url, headers).await.status().as_u16()
}

#[tokio::test]
async fn exactly_the_quota_passes_per_window_per_key_and_refusals_never_reach_the_handler() {
    let (sentinel, clock) = memory(per_client(
        3,
        Duration::from_secs(60),
        Algorithm::SlidingWindow,
    ));
    let layer = RateLimitLayer::builder(sentinel)
        .key(api_key())
        .build()
        .unwrap();
    let (addr, hits) = serve_layer(layer).await;
    let url = format!("http://{addr}/");
    let a = [("x-api-key", "client-a")];
    let b = [("x-api-key", "client-b")];

    // Three in the window, ten seconds apart: r counts down, t is until the newest expires.
    for r in [2, 1, 0] {
        let res = get(&url, &a).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(header(&res, "ratelimit-policy"), "\"default\";q=3;w=60");
        assert_eq!(header(&res, "ratelimit"), format!("\"default\";r={r};t=60"));
        assert_eq!(header(&res, "retry-after"), "");
        clock.advance(Duration::from_secs(10));
    }
    // At +30 s the fourth is refused: the oldest leaves the window at +60 s.
    let refused = get(&url, &a).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&refused, "retry-after"), "30");
    assert_eq!(header(&refused, "ratelimit"), "\"default\";r=0;t=50");
    for _ in 0..5 {
        assert_eq!(status(&url, &a).await, 429);
    }
    assert_eq!(hits.get(), 3, "refused requests never reach the handler");

    // Another key has its own budget.
    for _ in 0..3 {
        assert_eq!(status(&url, &b).await, 200);
    }
    assert_eq!(status(&url, &b).await, 429);
    assert_eq!(hits.get(), 6);

    // One second before the first leaves the window: still refused; at the second: one passes.
    clock.advance(Duration::from_secs(29));
    assert_eq!(status(&url, &a).await, 429);
    clock.advance(Duration::from_secs(1));
    assert_eq!(status(&url, &a).await, 200);
    assert_eq!(status(&url, &a).await, 429);
    // A whole window later, exactly the quota again.
    clock.advance(Duration::from_secs(60));
    for _ in 0..3 {
        assert_eq!(status(&url, &a).await, 200);
    }
    assert_eq!(status(&url, &a).await, 429);
    assert_eq!(hits.get(), 10);
}

#[tokio::test]
async fn gcra_headers_carry_exact_remaining_and_reset() {
    // 4 per 20 s: one unit back every 5 s.
    let (sentinel, clock) = memory(per_client(4, Duration::from_secs(20), Algorithm::Gcra));
    let layer = RateLimitLayer::builder(sentinel)
        .key(api_key())
        .legacy_headers(true)
        .build()
        .unwrap();
    let (addr, _) = serve_layer(layer).await;
    let url = format!("http://{addr}/");
    let k = [("x-api-key", "k")];
    for (r, t) in [(3, 5), (2, 10), (1, 15), (0, 20)] {
        let res = get(&url, &k).await;
        assert_eq!(res.status(), 200);
        assert_eq!(header(&res, "ratelimit-policy"), "\"default\";q=4;w=20");
        assert_eq!(
            header(&res, "ratelimit"),
            format!("\"default\";r={r};t={t}")
        );
        assert_eq!(header(&res, "x-ratelimit-limit"), "4");
        assert_eq!(header(&res, "x-ratelimit-remaining"), r.to_string());
        assert_eq!(header(&res, "x-ratelimit-reset"), t.to_string());
    }
    clock.advance(Duration::from_secs(2));
    let refused = get(&url, &k).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(header(&refused, "retry-after"), "3");
    assert_eq!(header(&refused, "x-ratelimit-remaining"), "0");
    clock.advance(Duration::from_secs(3));
    assert_eq!(status(&url, &k).await, 200);
}

#[tokio::test]
async fn header_switches_turn_each_field_set_on_and_off() {
    let policies = || per_client(5, Duration::from_secs(60), Algorithm::SlidingWindow);
    let cases: [(bool, bool, &[&str], &[&str]); 3] = [
        (
            true,
            false,
            &["ratelimit", "ratelimit-policy"],
            &["x-ratelimit-limit"],
        ),
        (
            false,
            true,
            &[
                "x-ratelimit-limit",
                "x-ratelimit-remaining",
                "x-ratelimit-reset",
            ],
            &["ratelimit", "ratelimit-policy"],
        ),
        (
            false,
            false,
            &[],
            &["ratelimit", "ratelimit-policy", "x-ratelimit-limit"],
        ),
    ];
    for (ietf, legacy, present, absent) in cases {
        let (sentinel, _) = memory(policies());
        let layer = RateLimitLayer::builder(sentinel)
            .rate_limit_headers(ietf)
            .legacy_headers(legacy)
            .build()
            .unwrap();
        let (addr, _) = serve_layer(layer).await;
        let res = get(&format!("http://{addr}/"), &[]).await;
        for h in present {
            assert!(
                res.headers().contains_key(*h),
                "{h} missing ({ietf}, {legacy})"
            );
        }
        for h in absent {
            assert!(
                !res.headers().contains_key(*h),
                "{h} present ({ietf}, {legacy})"
            );
        }
    }
}

#[tokio::test]
async fn spoofed_forwarding_headers_from_an_untrusted_peer_are_ignored() {
    let (sentinel, _) = memory(per_client(
        2,
        Duration::from_secs(60),
        Algorithm::SlidingWindow,
    ));
    // The test client connects from 127.0.0.1, which is not in the trusted list.
    let layer = RateLimitLayer::builder(sentinel)
        .trusted_proxies(["10.0.0.0/8"])
        .build()
        .unwrap();
    let (addr, hits) = serve_layer(layer).await;
    let url = format!("http://{addr}/");
    let spoofs: [&[(&str, &str)]; 4] = [
        &[("x-forwarded-for", "198.51.100.1")],
        &[("x-forwarded-for", "198.51.100.2")],
        &[("forwarded", "for=198.51.100.3")],
        &[("x-real-ip", "198.51.100.4")],
    ];
    let statuses: Vec<u16> = {
        let mut v = Vec::new();
        for s in spoofs {
            v.push(status(&url, s).await);
        }
        v
    };
    assert_eq!(statuses, [200, 200, 429, 429], "one budget: the peer's");
    assert_eq!(hits.get(), 2);
}

#[tokio::test]
async fn forwarding_headers_from_a_trusted_proxy_are_honoured() {
    let (sentinel, _) = memory(per_client(
        2,
        Duration::from_secs(60),
        Algorithm::SlidingWindow,
    ));
    let layer = RateLimitLayer::builder(sentinel)
        .trusted_proxies(["127.0.0.1", "10.0.0.0/8"])
        .build()
        .unwrap();
    let (addr, _) = serve_layer(layer).await;
    let url = format!("http://{addr}/");
    // Each client address has its own budget of two, whichever header carries it; a forged
    // left part does not change the key (the rightmost untrusted entry is the client).
    let first = [("x-forwarded-for", "198.51.100.1, 10.0.0.9")];
    let forged = [("x-forwarded-for", "6.6.6.6, 198.51.100.1, 10.0.0.9")];
    let forwarded = [("forwarded", "for=198.51.100.1;proto=https")];
    assert_eq!(status(&url, &first).await, 200);
    assert_eq!(status(&url, &forged).await, 200);
    assert_eq!(status(&url, &forwarded).await, 429);
    let other = [("x-real-ip", "198.51.100.2")];
    assert_eq!(status(&url, &other).await, 200);
    assert_eq!(status(&url, &other).await, 200);
    assert_eq!(status(&url, &other).await, 429);
    // Without any header the proxy itself is the client.
    assert_eq!(status(&url, &[]).await, 200);
}

#[tokio::test]
async fn ipv6_clients_in_one_prefix_share_a_budget_and_the_prefix_is_configurable() {
    let via = |ip: &'static str| [("x-forwarded-for", ip)];
    for (prefix, same_budget_as_first) in [(None, false), (Some(48), true)] {
        let (sentinel, _) = memory(per_client(
            2,
            Duration::from_secs(60),
            Algorithm::SlidingWindow,
        ));
        let mut builder = RateLimitLayer::builder(sentinel).trusted_proxies(["127.0.0.1"]);
        if let Some(p) = prefix {
            builder = builder.ipv6_prefix(p);
        }
        let (addr, _) = serve_layer(builder.build().unwrap()).await;
        let url = format!("http://{addr}/");
        // Two addresses of one /64: one budget of two.
        assert_eq!(status(&url, &via("2001:db8:1:2::a")).await, 200);
        assert_eq!(
            status(&url, &via("2001:db8:1:2:ffff:ffff:ffff:ffff")).await,
            200
        );
        assert_eq!(status(&url, &via("2001:db8:1:2::b")).await, 429);
        // Another /64 of the same /48: separate with /64, shared with /48.
        let next = status(&url, &via("2001:db8:1:3::a")).await;
        assert_eq!(next == 429, same_budget_as_first, "prefix {prefix:?}");
    }
}

#[tokio::test]
async fn routes_pick_policies_by_template_and_method_with_stacked_limits() {
    let policies = PolicyRegistry::builder()
        .default_policy(Policy::new().rate_limit(
            Quota::per_minute(100).unwrap(),
            Algorithm::SlidingWindow,
            Scope::Custom,
        ))
        // Per client 2, all clients together 3.
        .policy(
            "login",
            Policy::new()
                .rate_limit(
                    Quota::per_minute(2).unwrap(),
                    Algorithm::SlidingWindow,
                    Scope::Custom,
                )
                .rate_limit(
                    Quota::per_minute(3).unwrap(),
                    Algorithm::Gcra,
                    Scope::Global,
                ),
        )
        .policy(
            "users",
            Policy::new().rate_limit(
                Quota::per_minute(1).unwrap(),
                Algorithm::Gcra,
                Scope::Custom,
            ),
        )
        .build()
        .unwrap();
    let (sentinel, _) = memory(policies);
    let layer = RateLimitLayer::builder(sentinel)
        .key(api_key())
        .route(Method::POST, "/login", "login")
        .route_any("/users/{id}", "users")
        .build()
        .unwrap();
    let (addr, hits) = serve_layer(layer).await;
    let http = client();
    let login = |k: &'static str| {
        http.post(format!("http://{addr}/login"))
            .header("x-api-key", k)
            .send()
    };
    // Client a: its own limit of two.
    assert_eq!(login("a").await.unwrap().status(), 200);
    let second = login("a").await.unwrap();
    assert_eq!(header(&second, "ratelimit"), "\"login\";r=0;t=60");
    assert_eq!(
        header(&second, "ratelimit-policy"),
        "\"login\";q=2;w=60, \"login.1\";q=3;w=60"
    );
    assert_eq!(login("a").await.unwrap().status(), 429);
    // Client b: one passes, then the global limit of three (a's refusal consumed none) refuses.
    assert_eq!(login("b").await.unwrap().status(), 200);
    let global = login("b").await.unwrap();
    assert_eq!(global.status(), 429);
    assert_eq!(header(&global, "ratelimit"), "\"login.1\";r=0;t=60");
    assert_eq!(header(&global, "retry-after"), "20");
    // GET /login is not the POST route: the default policy.
    let get_login = get(&format!("http://{addr}/login"), &[("x-api-key", "a")]).await;
    assert_eq!(get_login.status(), 200);
    assert_eq!(header(&get_login, "ratelimit"), "\"default\";r=99;t=60");
    // /users/{id}: one template, one budget across ids.
    assert_eq!(
        status(&format!("http://{addr}/users/1"), &[("x-api-key", "a")]).await,
        200
    );
    assert_eq!(
        status(&format!("http://{addr}/users/2"), &[("x-api-key", "a")]).await,
        429
    );
    assert_eq!(hits.get(), 5);
}

#[tokio::test]
async fn keys_from_an_extension_a_route_and_a_function() {
    #[derive(Clone)]
    struct UserId(u64);

    let policies = || per_client(1, Duration::from_secs(60), Algorithm::SlidingWindow);
    // The signed-in user (an auth middleware's extension), else the API key.
    let (sentinel, _) = memory(policies());
    let layer = RateLimitLayer::builder(sentinel)
        .key(Key::extension(|u: &UserId| ClientKey::user(u.0)).or(api_key()))
        .build()
        .unwrap();
    let hits = common::Hits::default();
    let app = common::routes(&hits)
        .route_layer(layer)
        .layer(axum::middleware::from_fn(
            |mut req: axum::extract::Request, next: axum::middleware::Next| async move {
                let user = req
                    .headers()
                    .get("x-user")
                    .and_then(|v| v.to_str().ok()?.parse().ok());
                if let Some(id) = user {
                    req.extensions_mut().insert(UserId(id));
                }
                next.run(req).await
            },
        ));
    let addr = common::serve(app).await;
    let url = format!("http://{addr}/");
    // User 7 from two API keys: one budget.
    assert_eq!(
        status(&url, &[("x-user", "7"), ("x-api-key", "k1")]).await,
        200
    );
    assert_eq!(
        status(&url, &[("x-user", "7"), ("x-api-key", "k2")]).await,
        429
    );
    assert_eq!(status(&url, &[("x-user", "8")]).await, 200);
    // No user: the API key.
    assert_eq!(status(&url, &[("x-api-key", "k1")]).await, 200);
    assert_eq!(status(&url, &[("x-api-key", "k1")]).await, 429);

    // The route: every client of a route together.
    let (sentinel, _) = memory(policies());
    let layer = RateLimitLayer::builder(sentinel)
        .key(Key::route())
        .build()
        .unwrap();
    let (addr, _) = serve_layer(layer).await;
    assert_eq!(status(&format!("http://{addr}/users/1"), &[]).await, 200);
    assert_eq!(status(&format!("http://{addr}/users/2"), &[]).await, 429);
    assert_eq!(status(&format!("http://{addr}/"), &[]).await, 200);

    // Any function of the request.
    let (sentinel, _) = memory(policies());
    let layer = RateLimitLayer::builder(sentinel)
        .key(Key::from_fn(|req| {
            req.headers()
                .get("x-tenant")?
                .to_str()
                .ok()
                .map(ClientKey::custom)
        }))
        .build()
        .unwrap();
    let (addr, _) = serve_layer(layer).await;
    let url = format!("http://{addr}/");
    assert_eq!(status(&url, &[("x-tenant", "acme")]).await, 200);
    assert_eq!(status(&url, &[("x-tenant", "acme")]).await, 429);
    assert_eq!(status(&url, &[("x-tenant", "globex")]).await, 200);
}

#[tokio::test]
async fn a_request_without_a_key_is_refused_unless_a_fallback_finds_one() {
    let (sentinel, _) = memory(per_client(
        5,
        Duration::from_secs(60),
        Algorithm::SlidingWindow,
    ));
    let layer = RateLimitLayer::builder(sentinel)
        .key(api_key())
        .build()
        .unwrap();
    let (addr, hits) = serve_layer(layer).await;
    let res = get(&format!("http://{addr}/"), &[]).await;
    assert_eq!(res.status(), 500);
    assert_eq!(hits.get(), 0);

    let (sentinel, _) = memory(per_client(
        1,
        Duration::from_secs(60),
        Algorithm::SlidingWindow,
    ));
    let layer = RateLimitLayer::builder(sentinel)
        .key(api_key().or(Key::peer_ip()))
        .build()
        .unwrap();
    let (addr, _) = serve_layer(layer).await;
    let url = format!("http://{addr}/");
    assert_eq!(status(&url, &[]).await, 200);
    assert_eq!(
        status(&url, &[]).await,
        429,
        "the peer address has a budget of one"
    );
    assert_eq!(status(&url, &[("x-api-key", "k")]).await, 200);
}

#[tokio::test]
async fn blocked_clients_get_the_blocked_status_with_the_time_left() {
    for (status_cfg, expected) in [(None, 403), (Some(StatusCode::UNAUTHORIZED), 401)] {
        let (sentinel, _) = memory(per_client(
            5,
            Duration::from_secs(60),
            Algorithm::SlidingWindow,
        ));
        let mut builder: RateLimitLayerBuilder =
            RateLimitLayer::builder(sentinel.clone()).key(api_key());
        if let Some(s) = status_cfg {
            builder = builder.blocked_status(s);
        }
        let (addr, hits) = serve_layer(builder.build().unwrap()).await;
        let url = format!("http://{addr}/");
        let abuser = ClientKey::api_key("bad-key");
        sentinel
            .block(
                &abuser.subject(),
                Some(Duration::from_secs(90)),
                "abuse",
                "test",
            )
            .await
            .unwrap();
        let res = get(&url, &[("x-api-key", "bad-key")]).await;
        assert_eq!(res.status().as_u16(), expected);
        assert_eq!(header(&res, "retry-after"), "90");
        assert_eq!(status(&url, &[("x-api-key", "good-key")]).await, 200);
        assert_eq!(hits.get(), 1);
        sentinel.unblock(&abuser.subject()).await.unwrap();
        assert_eq!(status(&url, &[("x-api-key", "bad-key")]).await, 200);
    }
}

#[tokio::test]
async fn a_custom_refusal_response_keeps_retry_after_and_headers() {
    let (sentinel, _) = memory(per_client(
        1,
        Duration::from_secs(60),
        Algorithm::SlidingWindow,
    ));
    let layer = RateLimitLayer::builder(sentinel)
        .key(api_key())
        .on_refused(|r| {
            let body = format!(
                "{{\"kind\":\"{}\",\"policy\":\"{}\",\"default_status\":{}}}",
                if r.kind == RefusalKind::Throttled {
                    "throttled"
                } else {
                    "other"
                },
                r.policy.unwrap_or("-"),
                r.status.as_u16()
            );
            http::Response::builder()
                .status(StatusCode::SERVICE_UNAVAILABLE)
                .header("content-type", "application/json")
                .body(Bytes::from(body))
                .unwrap()
        })
        .build()
        .unwrap();
    let (addr, hits) = serve_layer(layer).await;
    let url = format!("http://{addr}/");
    assert_eq!(status(&url, &[("x-api-key", "k")]).await, 200);
    let res = get(&url, &[("x-api-key", "k")]).await;
    assert_eq!(res.status(), 503);
    assert_eq!(header(&res, "content-type"), "application/json");
    assert_eq!(header(&res, "retry-after"), "60");
    assert_eq!(header(&res, "ratelimit"), "\"default\";r=0;t=60");
    assert_eq!(
        res.text().await.unwrap(),
        "{\"kind\":\"throttled\",\"policy\":\"_\",\"default_status\":429}"
    );
    assert_eq!(hits.get(), 1);
}

#[tokio::test]
async fn configuration_errors_say_what_to_change() {
    let registry = || {
        PolicyRegistry::builder()
            .policy(
                "login",
                Policy::new().rate_limit(
                    Quota::per_minute(1).unwrap(),
                    Algorithm::Gcra,
                    Scope::Custom,
                ),
            )
            .build()
            .unwrap()
    };
    let builder = || RateLimitLayer::builder(memory(registry()).0);
    let err = |b: RateLimitLayerBuilder| b.build().unwrap_err().to_string();
    assert!(err(builder().trusted_proxies(["10.0.0.0/99"])).contains("10.0.0.0/99"));
    assert!(err(builder().ipv6_prefix(0)).contains("1 to 128"));
    assert!(err(builder().ipv6_prefix(129)).contains("1 to 128"));
    assert!(err(builder().route(Method::GET, "/x", "nope")).contains("\"nope\""));
    assert!(err(builder().route(Method::GET, "x", "login")).contains("starting with '/'"));
    assert!(err(builder().route_any("/x", "login").route_any("/x", "login")).contains("twice"));
    assert!(err(builder().blocked_status(StatusCode::OK)).contains("4xx or 5xx"));
    assert!(builder().route(Method::GET, "/x", "login").build().is_ok());
}
