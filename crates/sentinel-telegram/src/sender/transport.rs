//! One HTTP request to the Bot API and its answer as a result or a typed [`SendError`] (whose
//! [`class`](SendError::class) then says whether and when to retry).

use std::error::Error as _;
use std::time::Duration;

use reqwest::header::RETRY_AFTER;
use serde::Deserialize;
use serde_json::Value;

use super::MAX_RETRY_AFTER;
use super::error::SendError;
use super::token::BotToken;

#[derive(Debug, Deserialize)]
struct ApiResponse {
    ok: bool,
    #[serde(default)]
    result: Option<Value>,
    #[serde(default)]
    error_code: Option<i64>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<Parameters>,
}

#[derive(Debug, Deserialize)]
struct Parameters {
    #[serde(default)]
    retry_after: Option<u64>,
    #[serde(default)]
    migrate_to_chat_id: Option<i64>,
}

/// A `reqwest::Error` as a token-free [`SendError`]: the URL is stripped and the rest of the
/// chain scrubbed.
pub(crate) fn from_reqwest(e: reqwest::Error, token: &BotToken) -> SendError {
    if e.is_timeout() {
        return SendError::Timeout;
    }
    let e = e.without_url();
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    SendError::Network {
        message: token.scrub(&message),
    }
}

/// Sends `body` to `url` once: the `result`, or the failure.
pub(crate) async fn attempt(
    client: &reqwest::Client,
    url: reqwest::Url,
    body: &Value,
    token: &BotToken,
) -> Result<Value, SendError> {
    let response = client
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| from_reqwest(e, token))?;
    let status = response.status().as_u16();
    let header_retry = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let bytes = response.bytes().await.map_err(|e| from_reqwest(e, token))?;
    answer(status, header_retry, &bytes, token)
}

/// A `retry_after` in seconds as a 429 error: at least 1 s, at most [`MAX_RETRY_AFTER`].
fn retry_after(secs: u64) -> SendError {
    SendError::TooManyRequests {
        retry_after: Duration::from_secs(secs.max(1)).min(MAX_RETRY_AFTER),
    }
}

/// A response (status, `Retry-After` header, body) as a result or a typed error.
pub(crate) fn answer(
    status: u16,
    header_retry: Option<u64>,
    body: &[u8],
    token: &BotToken,
) -> Result<Value, SendError> {
    let Ok(parsed) = serde_json::from_slice::<ApiResponse>(body) else {
        return Err(match status {
            429 => retry_after(header_retry.unwrap_or(1)),
            s if s >= 500 => SendError::Api {
                code: s,
                description: format!("HTTP {s} with a body that is not a Bot API answer"),
            },
            s => SendError::InvalidResponse { status: s },
        });
    };
    if parsed.ok {
        return Ok(parsed.result.unwrap_or(Value::Null));
    }
    let params = parsed.parameters.as_ref();
    if let Some(secs) =
        params
            .and_then(|p| p.retry_after)
            .or(if status == 429 { header_retry } else { None })
    {
        return Err(retry_after(secs));
    }
    if status == 429 {
        return Err(retry_after(1));
    }
    if let Some(new_chat_id) = params.and_then(|p| p.migrate_to_chat_id) {
        return Err(SendError::ChatMigrated { new_chat_id });
    }
    let mut code = parsed
        .error_code
        .and_then(|c| u16::try_from(c).ok())
        .unwrap_or(status);
    if status >= 500 && code < 500 {
        // The gateway failed, whatever the body says: that is what decides retrying.
        code = status;
    }
    Err(SendError::Api {
        code,
        description: token.scrub(parsed.description.as_deref().unwrap_or("")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sender::ErrorClass;

    fn token() -> BotToken {
        BotToken::new("42:SeCrEt").unwrap()
    }

    #[test]
    fn classifies_answers() {
        let t = token();
        assert!(
            matches!(answer(200, None, br#"{"ok":true,"result":{"message_id":3}}"#, &t), Ok(v) if v["message_id"] == 3)
        );
        assert!(matches!(
            answer(429, Some(7), br#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 5","parameters":{"retry_after":5}}"#, &t),
            Err(SendError::TooManyRequests { retry_after: d }) if d == Duration::from_secs(5)
        ));
        assert!(
            matches!(answer(429, Some(7), b"<html>", &t), Err(SendError::TooManyRequests { retry_after: d }) if d == Duration::from_secs(7))
        );
        assert!(matches!(
            answer(502, None, b"<html>bad gateway</html>", &t),
            Err(e @ SendError::Api { code: 502, .. }) if e.class() == ErrorClass::Transient
        ));
        assert!(matches!(
            answer(
                500,
                None,
                br#"{"ok":false,"error_code":500,"description":"Internal Server Error"}"#,
                &t
            ),
            Err(e) if e.class() == ErrorClass::Transient
        ));
        assert_eq!(
            answer(
                408,
                None,
                br#"{"ok":false,"error_code":408,"description":"Request Timeout"}"#,
                &t
            )
            .map_err(|e| e.class()),
            Err(ErrorClass::Transient),
            "408 is retryable"
        );
        assert!(matches!(
            answer(200, None, b"nope", &t),
            Err(SendError::InvalidResponse { status: 200 })
        ));
        assert!(matches!(
            answer(400, None, br#"{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-1001}}"#, &t),
            Err(SendError::ChatMigrated { new_chat_id: -1001 })
        ));
        match answer(
            403,
            None,
            br#"{"ok":false,"error_code":403,"description":"Forbidden: 42:SeCrEt is blocked"}"#,
            &t,
        ) {
            Err(SendError::Api {
                code: 403,
                description,
            }) => {
                assert_eq!(description, "Forbidden: <redacted> is blocked");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn retry_after_is_clamped_between_one_second_and_the_maximum() {
        let t = token();
        let pause = |status, header, body: &[u8]| match answer(status, header, body, &t) {
            Err(SendError::TooManyRequests { retry_after }) => retry_after,
            other => panic!("{other:?}"),
        };
        let body = |n: &str| {
            format!(r#"{{"ok":false,"error_code":429,"parameters":{{"retry_after":{n}}}}}"#)
        };
        assert_eq!(
            pause(429, None, body("0").as_bytes()),
            Duration::from_secs(1)
        );
        assert_eq!(
            pause(429, None, body("18446744073709551615").as_bytes()),
            MAX_RETRY_AFTER
        );
        assert_eq!(
            pause(429, None, body("1000000000").as_bytes()),
            MAX_RETRY_AFTER
        );
        assert_eq!(pause(429, Some(u64::MAX), b"<html>"), MAX_RETRY_AFTER);
        assert_eq!(pause(429, Some(0), b"<html>"), Duration::from_secs(1));
        // Not a u64: the body is not understood, the header (or 1 s) decides.
        assert_eq!(
            pause(429, Some(3), body("-5").as_bytes()),
            Duration::from_secs(3)
        );
        assert_eq!(
            pause(429, None, body("1e400").as_bytes()),
            Duration::from_secs(1)
        );
    }
}
