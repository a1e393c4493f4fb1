//! The token client against a scripted issuer: a `fetcher` and a `metadataResolver` in Rust,
//! which count the token requests and answer what each test scripts.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::core::config::{Env, Input};
use crate::outbound::config::resolve;

const ISSUER: &str = "https://tenant.example.com";
const T0: f64 = 1_800_000_000_000.0;

/// Status, headers and body of one scripted answer.
type Answer = (u16, Vec<(String, String)>, String);

/// How a test writes an answer.
type ScriptedAnswer<'a> = (u16, &'a [(&'a str, &'a str)], &'a str);

/// Answers token requests from a script (the last answer repeats), after `delay`.
struct Issuer {
    answers: Mutex<VecDeque<Answer>>,
    requests: AtomicUsize,
    forms: Mutex<Vec<String>>,
    delay: Duration,
}

impl Issuer {
    fn new(answers: &[ScriptedAnswer], delay: Duration) -> Arc<Issuer> {
        Arc::new(Issuer {
            answers: Mutex::new(
                answers
                    .iter()
                    .map(|(status, headers, body)| {
                        (
                            *status,
                            headers
                                .iter()
                                .map(|(n, v)| (n.to_string(), v.to_string()))
                                .collect(),
                            body.to_string(),
                        )
                    })
                    .collect(),
            ),
            requests: AtomicUsize::new(0),
            forms: Mutex::new(Vec::new()),
            delay,
        })
    }

    fn count(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn token_answer(token: &str, expires_in: Option<u64>) -> String {
    let mut answer = json!({ "access_token": token, "token_type": "Bearer", "scope": "a" });
    if let Some(seconds) = expires_in {
        answer["expires_in"] = json!(seconds);
    }
    answer.to_string()
}

fn token_client(issuer: &Arc<Issuer>, extra: &[(&str, Input)]) -> Arc<TokenClient> {
    let mut options = vec![
        ("tenantDomain".to_owned(), Input::Str(ISSUER.into())),
        ("clientId".to_owned(), Input::Str("client-1".into())),
        ("clientSecret".to_owned(), Input::Str("secret-1".into())),
    ];
    options.extend(extra.iter().map(|(n, v)| (n.to_string(), v.clone())));
    let config = resolve(&Input::Object(options), &Env::new()).unwrap();
    let fetcher_issuer = issuer.clone();
    let fetch: JsCall = Arc::new(move |request: String| {
        let issuer = fetcher_issuer.clone();
        Box::pin(async move {
            let request: Value = serde_json::from_str(&request).unwrap();
            assert_eq!(request["url"], format!("{ISSUER}/token"));
            issuer.requests.fetch_add(1, Ordering::SeqCst);
            issuer
                .forms
                .lock()
                .unwrap()
                .push(request["body"].as_str().unwrap().to_owned());
            tokio::time::sleep(issuer.delay).await;
            let (status, headers, body) = {
                let mut answers = issuer.answers.lock().unwrap();
                if answers.len() > 1 {
                    answers.pop_front().unwrap()
                } else {
                    answers.front().unwrap().clone()
                }
            };
            Ok(json!({ "ok": { "status": status, "statusText": "", "headers": headers, "body": body } })
                .to_string())
        })
    });
    let metadata: JsCall = Arc::new(|_| {
        Box::pin(async {
            Ok(
                json!({ "ok": { "issuer": ISSUER, "token_endpoint": format!("{ISSUER}/token") } })
                    .to_string(),
            )
        })
    });
    let callbacks = Callbacks {
        fetch: Some(fetch),
        metadata: Some(metadata),
        ..Callbacks::default()
    };
    Arc::new(TokenClient::new(config, callbacks, None).unwrap())
}

fn at(seconds: f64) -> Now {
    Now::from_caller(Some(T0 + seconds * 1000.0))
}

fn scopes(list: &[&str]) -> TokenRequest {
    TokenRequest::new(list.iter().map(|s| s.to_string()).collect(), vec![], None)
}

#[tokio::test]
async fn a_cached_token_is_reused_until_it_is_due() {
    let issuer = Issuer::new(
        &[(200, &[], &token_answer("t1", Some(300)))],
        Duration::ZERO,
    );
    let client = token_client(&issuer, &[]);
    assert!(client.fresh(&scopes(&["a"]), at(0.0)).is_none());
    let first = client.access_token(scopes(&["a"]), at(0.0)).await.unwrap();
    let again = client
        .access_token(scopes(&["a"]), at(200.0))
        .await
        .unwrap();
    assert_eq!(
        client.fresh(&scopes(&["a"]), at(200.0)),
        Some(first.clone())
    );
    // Due (60 s before expiry): the caller goes the long way, which refreshes.
    assert!(client.fresh(&scopes(&["a"]), at(241.0)).is_none());
    assert_eq!(first.access_token, "t1");
    assert_eq!(again.access_token, "t1");
    assert_eq!(issuer.count(), 1);
    assert!((first.expires_at_ms - (T0 + 300_000.0)).abs() < 1000.0);
    // Another set of scopes is another token.
    client.access_token(scopes(&["b"]), at(0.0)).await.unwrap();
    assert_eq!(issuer.count(), 2);
    let forms = issuer.forms.lock().unwrap();
    assert!(forms[0].contains("grant_type=client_credentials"));
    assert!(forms[0].contains("scope=a"));
    assert!(forms[0].contains("client_secret=secret-1"));
}

#[tokio::test]
async fn a_due_token_is_refreshed_in_the_background_while_it_is_still_served() {
    let issuer = Issuer::new(
        &[
            (200, &[], &token_answer("old", Some(100))),
            (200, &[], &token_answer("new", Some(100))),
        ],
        Duration::from_millis(50),
    );
    let client = token_client(&issuer, &[]);
    client.access_token(scopes(&[]), at(0.0)).await.unwrap();
    // Due 60 s before expiry, but not before half its lifetime: at 50 s.
    let before = client.access_token(scopes(&[]), at(45.0)).await.unwrap();
    assert_eq!((before.access_token.as_str(), issuer.count()), ("old", 1));
    let started = Instant::now();
    let during = client.access_token(scopes(&[]), at(55.0)).await.unwrap();
    assert_eq!(during.access_token, "old");
    assert!(
        started.elapsed() < Duration::from_millis(40),
        "no caller waits on a refresh"
    );
    for _ in 0..100 {
        if client
            .access_token(scopes(&[]), at(56.0))
            .await
            .unwrap()
            .access_token
            == "new"
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        client
            .access_token(scopes(&[]), at(57.0))
            .await
            .unwrap()
            .access_token,
        "new"
    );
    assert_eq!(issuer.count(), 2);
}

#[tokio::test]
async fn concurrent_callers_share_one_request() {
    let issuer = Issuer::new(
        &[(200, &[], &token_answer("t", Some(300)))],
        Duration::from_millis(100),
    );
    let client = token_client(&issuer, &[]);
    let calls: Vec<_> = (0..100)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.access_token(scopes(&["x"]), at(0.0)).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap().access_token, "t");
    }
    assert_eq!(issuer.count(), 1);
}

#[tokio::test]
async fn an_overloaded_issuer_is_retried_and_recovers() {
    let issuer = Issuer::new(
        &[
            (503, &[], "down"),
            (429, &[("retry-after", "0")], "slow down"),
            (200, &[], &token_answer("t", Some(300))),
        ],
        Duration::ZERO,
    );
    let client = token_client(&issuer, &[]);
    let token = client.access_token(scopes(&[]), at(0.0)).await.unwrap();
    assert_eq!(token.access_token, "t");
    assert_eq!(issuer.count(), 3);
}

#[tokio::test]
async fn retries_are_bounded_in_count_and_time() {
    let issuer = Issuer::new(&[(503, &[], "down")], Duration::ZERO);
    let client = token_client(&issuer, &[("retries", Input::Number(1.0))]);
    let error = client.access_token(scopes(&[]), at(0.0)).await.unwrap_err();
    assert!(matches!(error, Error::Http { .. }), "{error:?}");
    assert_eq!(issuer.count(), 2);

    let issuer = Issuer::new(&[(429, &[("retry-after", "3600")], "")], Duration::ZERO);
    let client = token_client(&issuer, &[]);
    let started = Instant::now();
    assert!(client.access_token(scopes(&[]), at(0.0)).await.is_err());
    assert_eq!(issuer.count(), 1, "a wait beyond the budget is not taken");
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn an_oauth_error_answers_at_once_and_caches_nothing() {
    let issuer = Issuer::new(
        &[
            (
                401,
                &[],
                r#"{"error":"invalid_client","error_description":"client authentication failed"}"#,
            ),
            (200, &[], &token_answer("t", Some(300))),
        ],
        Duration::ZERO,
    );
    let client = token_client(&issuer, &[]);
    let Err(Error::Op { error, .. }) = client.access_token(scopes(&[]), at(0.0)).await else {
        panic!("invalid_client is a MonoCloudOPError")
    };
    assert_eq!(error, "invalid_client");
    assert_eq!(issuer.count(), 1);
    let token = client.access_token(scopes(&[]), at(1.0)).await.unwrap();
    assert_eq!(token.access_token, "t");
}

#[tokio::test]
async fn a_token_without_expires_in_is_kept_a_short_time() {
    let issuer = Issuer::new(&[(200, &[], &token_answer("t", None))], Duration::ZERO);
    let client = token_client(&issuer, &[]);
    let token = client.access_token(scopes(&[]), at(0.0)).await.unwrap();
    let lifetime = (token.expires_at_ms - T0) / 1000.0;
    assert!(
        lifetime <= LIFETIME_WHEN_UNKNOWN.as_secs_f64() + 1.0,
        "{lifetime}"
    );
    client.access_token(scopes(&[]), at(61.0)).await.unwrap();
    assert_eq!(issuer.count(), 2);
}

#[tokio::test]
async fn an_invalidated_token_is_replaced() {
    let issuer = Issuer::new(
        &[
            (200, &[], &token_answer("first", Some(300))),
            (200, &[], &token_answer("second", Some(300))),
        ],
        Duration::ZERO,
    );
    let client = token_client(&issuer, &[]);
    let first = client.access_token(scopes(&[]), at(0.0)).await.unwrap();
    client.invalidate(scopes(&[]), &first.access_token).await;
    let second = client.access_token(scopes(&[]), at(1.0)).await.unwrap();
    assert_eq!(second.access_token, "second");
    // A late caller refused with the first token does not drop the second.
    client.invalidate(scopes(&[]), &first.access_token).await;
    let still = client.access_token(scopes(&[]), at(2.0)).await.unwrap();
    assert_eq!(still.access_token, "second");
    assert_eq!(issuer.count(), 2);
}

#[test]
fn backoff_doubles_up_to_its_cap() {
    for attempt in 1..20 {
        let wait = backoff(attempt);
        assert!(wait <= MAX_BACKOFF, "{attempt}: {wait:?}");
        assert!(wait >= FIRST_BACKOFF / 2);
    }
    assert!(backoff(3) >= FIRST_BACKOFF * 2);
}

#[tokio::test]
async fn the_request_carries_the_client_authentication_and_the_token_options() {
    let issuer = Issuer::new(&[(200, &[], &token_answer("t", Some(300)))], Duration::ZERO);
    let client = token_client(
        &issuer,
        &[
            ("clientAuthMethod", Input::Str("spiffe_jwt".into())),
            ("clientSecret", Input::Str("the-svid".into())),
        ],
    );
    let request = TokenRequest::new(
        vec!["b".into(), "a".into()],
        vec!["https://r1".into(), "https://r2".into()],
        Some("aud-1".into()),
    );
    client.access_token(request, at(0.0)).await.unwrap();
    let form = issuer.forms.lock().unwrap()[0].clone();
    for part in [
        "grant_type=client_credentials",
        "scope=a+b",
        "resource=https%3A%2F%2Fr1",
        "resource=https%3A%2F%2Fr2",
        "audience=aud-1",
        "client_id=client-1",
        "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-spiffe",
        "client_assertion=the-svid",
    ] {
        assert!(
            form.split('&').any(|field| field == part),
            "{part} in {form}"
        );
    }
}
