use serde_json::json;

use super::proof::access_token_hash;
use super::thumbprint::jwk_thumbprint;
use super::*;
use crate::core::challenge::Style;
use crate::core::testkit::TestKey;

pub const NOW_MS: f64 = 1_700_000_000_000.0;
pub const URL: &str = "https://api.example.com/orders?page=2";
pub const TOKEN: &str = "the.access.token";
const SECRET: &str = "0123456789abcdef0123456789abcdef";

fn settings(mode: Mode) -> Settings {
    Settings {
        mode,
        algorithms: vec![Alg::ES256, Alg::RS256, Alg::EdDSA],
        iat_offset: 300.0,
        iat_leeway: 30.0,
        nonce_secret: None,
        nonce_lifetime: 300.0,
        replay: Replay::Memory,
        allow_on_store_error: false,
        public_url: None,
    }
}

fn dpop(mode: Mode) -> Dpop {
    Dpop::new(settings(mode), Style::default(), None, None)
}

fn now() -> Now {
    Now::from_caller(Some(NOW_MS))
}

fn request(scheme: Option<Scheme>, proofs: &[&str]) -> Request {
    Request {
        method: Some("GET".into()),
        url: Some(URL.into()),
        dpop: proofs.iter().map(|p| (*p).to_owned()).collect(),
        now_ms: Some(NOW_MS),
        scheme,
        ..Request::default()
    }
}

pub fn proof_by(key: &TestKey, claims: Value) -> String {
    let mut jwk = key.jwk();
    for member in ["kid", "alg", "use"] {
        jwk.as_object_mut().unwrap().remove(member);
    }
    let mut c = json!({
        "jti": "jti-1", "htm": "GET", "htu": "https://api.example.com/orders",
        "iat": NOW_MS / 1000.0, "ath": access_token_hash(TOKEN)
    });
    if let Value::Object(extra) = claims {
        for (k, v) in extra {
            c[k] = v;
        }
    }
    key.sign_text(
        json!({ "typ": "dpop+jwt", "jwk": jwk, "kid": null }),
        &c.to_string(),
    )
}

pub fn bound_to(key: &TestKey) -> Map<String, Value> {
    let jkt = jwk_thumbprint(key.jwk().as_object().unwrap()).unwrap();
    match json!({ "sub": "s", "cnf": { "jkt": jkt, "kid": "extra members are allowed" } }) {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

fn refusal(error: Error) -> Refusal {
    match error {
        Error::Dpop(refusal) => *refusal,
        other => panic!("not a DPoP refusal: {other:?}"),
    }
}

/// One DPoP-scheme request with a proof by `signer`, checked against a token's claims: what
/// most tests repeat, with only what differs from a good request spelled out.
struct ProofCheck<'a> {
    verifier: &'a Dpop,
    signer: &'a TestKey,
    proof_claims: Value,
    token_claims: Map<String, Value>,
    introspected: bool,
    url: &'a str,
    now: Now,
}

impl<'a> ProofCheck<'a> {
    /// A good proof by `signer` for a token bound to `signer`, at `NOW_MS`, for `URL`.
    fn new(verifier: &'a Dpop, signer: &'a TestKey) -> Self {
        ProofCheck {
            verifier,
            signer,
            proof_claims: json!({}),
            token_claims: bound_to(signer),
            introspected: false,
            url: URL,
            now: now(),
        }
    }

    /// Proof claims that replace the good ones.
    fn claims(mut self, claims: Value) -> Self {
        self.proof_claims = claims;
        self
    }

    fn token(mut self, claims: Map<String, Value>, introspected: bool) -> Self {
        self.token_claims = claims;
        self.introspected = introspected;
        self
    }

    fn url(mut self, url: &'a str) -> Self {
        self.url = url;
        self
    }

    fn at(mut self, now: Now) -> Self {
        self.now = now;
        self
    }

    fn run(&self) -> Result<Option<Ticket>> {
        let proof = proof_by(self.signer, self.proof_claims.clone());
        let mut request = request(Some(Scheme::Dpop), &[&proof]);
        request.url = Some(self.url.to_owned());
        self.verifier.check_token(
            TOKEN,
            &self.token_claims,
            self.introspected,
            &request,
            self.now,
        )
    }

    fn passes(&self) -> Ticket {
        self.run().unwrap().expect("a proof was checked")
    }

    fn refused(&self) -> Refusal {
        refusal(self.run().unwrap_err())
    }
}

#[test]
fn malformed_requests_are_400_on_the_scheme_used() {
    let d = dpop(Mode::Allowed);
    let cases = [
        (
            request(Some(Scheme::Dpop), &["a", "b"]),
            "DPoP error=\"invalid_request\"",
        ),
        (
            request(Some(Scheme::Dpop), &["a, b"]),
            "DPoP error=\"invalid_request\"",
        ),
        (
            request(Some(Scheme::Dpop), &[]),
            "DPoP error=\"invalid_request\"",
        ),
        (
            request(Some(Scheme::Bearer), &["a"]),
            "Bearer error=\"invalid_request\"",
        ),
    ];
    for (request, challenge) in cases {
        let refused = refusal(d.check_shape(&request).unwrap_err());
        assert_eq!(refused.status, 400);
        assert_eq!(refused.code, TokenErrorCode::InvalidRequest);
        assert!(
            refused.challenge.starts_with(challenge),
            "{}",
            refused.challenge
        );
    }
    assert!(d.check_shape(&request(Some(Scheme::Dpop), &["a"])).is_ok());
    assert!(d.check_shape(&request(Some(Scheme::Bearer), &[])).is_ok());
    // Disabled: the original's behaviour, no shape rules.
    let off = dpop(Mode::Disabled);
    assert!(
        off.check_shape(&request(Some(Scheme::Bearer), &["a", "b"]))
            .is_ok()
    );
}

#[test]
fn a_good_proof_for_a_bound_token_passes_once() {
    let d = dpop(Mode::Allowed);
    let key = TestKey::new(Alg::ES256, "k");
    let check = ProofCheck::new(&d, &key);
    let ticket = check.passes();
    assert_eq!(ticket.expires_ms, NOW_MS + 330_000.0);
    assert!(d.reserve_now(ticket, now()).unwrap().is_ok());
    // The same proof again (ES256 signatures differ, the jti does not): every check passes
    // but its one-time use.
    let again = check.passes();
    let replayed = refusal(d.reserve_now(again, now()).unwrap().unwrap_err());
    assert_eq!(replayed.code, TokenErrorCode::InvalidDpopProof);
    assert_eq!(replayed.status, 401);
    assert_eq!(
        replayed.challenge,
        "DPoP error=\"invalid_dpop_proof\", algs=\"ES256 RS256 EdDSA\""
    );
}

#[test]
fn a_bound_token_without_its_proof_is_refused_unless_disabled() {
    let key = TestKey::new(Alg::ES256, "k");
    let claims = bound_to(&key);
    let mut resolved = request(None, &[]);
    resolved.method = Some("GET".into());
    for request in [request(Some(Scheme::Bearer), &[]), resolved] {
        let refused = refusal(
            dpop(Mode::Allowed)
                .check_token(TOKEN, &claims, false, &request, now())
                .unwrap_err(),
        );
        assert_eq!(refused.status, 401);
        assert_eq!(refused.code, TokenErrorCode::InvalidToken);
        assert_eq!(
            refused.challenge,
            "Bearer error=\"invalid_token\", DPoP algs=\"ES256 RS256 EdDSA\""
        );
    }
    // `validateAccessToken(token)` alone says nothing of the request: the original's answer.
    let mut bare = request(None, &[]);
    bare.method = None;
    assert_eq!(
        dpop(Mode::Allowed).check_token(TOKEN, &claims, false, &bare, now()),
        Ok(None)
    );
    let original = dpop(Mode::Disabled);
    assert_eq!(
        original.check_token(
            TOKEN,
            &claims,
            false,
            &request(Some(Scheme::Bearer), &[]),
            now()
        ),
        Ok(None)
    );
}

#[test]
fn modes_decide_what_an_unbound_token_needs() {
    let unbound = Map::new();
    let bearer = request(Some(Scheme::Bearer), &[]);
    assert_eq!(
        dpop(Mode::Allowed).check_token(TOKEN, &unbound, false, &bearer, now()),
        Ok(None)
    );
    let refused = refusal(
        dpop(Mode::Required)
            .check_token(TOKEN, &unbound, false, &bearer, now())
            .unwrap_err(),
    );
    assert_eq!(
        (refused.status, refused.challenge.as_str()),
        (401, "DPoP algs=\"ES256 RS256 EdDSA\"")
    );
    // The DPoP scheme with a token that is not bound.
    let key = TestKey::new(Alg::ES256, "k");
    let allowed = dpop(Mode::Allowed);
    let refused = ProofCheck::new(&allowed, &key)
        .token(unbound, false)
        .refused();
    assert_eq!(refused.code, TokenErrorCode::InvalidToken);
    assert!(
        refused
            .challenge
            .starts_with("DPoP error=\"invalid_token\"")
    );
}

#[test]
fn a_proof_by_another_key_is_a_binding_mismatch() {
    let d = dpop(Mode::Allowed);
    let holder = TestKey::new(Alg::ES256, "k");
    let thief = TestKey::new(Alg::ES256, "t");
    let refused = ProofCheck::new(&d, &thief)
        .token(bound_to(&holder), false)
        .refused();
    assert_eq!(refused.code, TokenErrorCode::InvalidToken);
    assert_eq!(
        refused.challenge,
        "DPoP error=\"invalid_token\", algs=\"ES256 RS256 EdDSA\""
    );
}

#[test]
fn proof_failures_are_invalid_dpop_proof() {
    let d = dpop(Mode::Allowed);
    let key = TestKey::new(Alg::ES256, "k");
    for claims in [
        json!({ "htm": "POST" }),
        json!({ "htu": "https://api.example.com/elsewhere" }),
        json!({ "iat": NOW_MS / 1000.0 - 400.0 }),
        json!({ "ath": access_token_hash("other") }),
    ] {
        let refused = ProofCheck::new(&d, &key).claims(claims.clone()).refused();
        assert_eq!(
            (refused.status, refused.code),
            (401, TokenErrorCode::InvalidDpopProof),
            "{claims}"
        );
    }
    // An algorithm outside the configured list.
    let es384 = TestKey::new(Alg::ES384, "k");
    let refused = ProofCheck::new(&d, &es384).refused();
    assert_eq!(refused.code, TokenErrorCode::InvalidDpopProof);
}

#[test]
fn introspected_bindings_need_the_dpop_token_type_when_one_is_given() {
    let d = dpop(Mode::Allowed);
    let key = TestKey::new(Alg::ES256, "k");
    let mut claims = bound_to(&key);
    claims.insert("token_type".into(), json!("DPoP"));
    ProofCheck::new(&d, &key)
        .token(claims.clone(), true)
        .passes();
    claims.insert("token_type".into(), json!("Bearer"));
    let refused = ProofCheck::new(&d, &key).token(claims, true).refused();
    assert_eq!(refused.code, TokenErrorCode::InvalidToken);
    let mut bad = bound_to(&key);
    bad.insert("cnf".into(), json!({ "jkt": 5 }));
    assert!(ProofCheck::new(&d, &key).token(bad, false).run().is_err());
}

#[test]
fn nonces_are_required_and_issued_when_a_secret_is_set() {
    let with_secret = |s: &str| {
        Dpop::new(
            Settings {
                nonce_secret: Some(Redacted(s.as_bytes().to_vec())),
                ..settings(Mode::Allowed)
            },
            Style::default(),
            None,
            None,
        )
    };
    let first = with_secret(SECRET);
    let second = with_secret(SECRET);
    let key = TestKey::new(Alg::ES256, "k");
    let refused = ProofCheck::new(&first, &key).refused();
    assert_eq!(
        (refused.status, refused.code),
        (401, TokenErrorCode::UseDpopNonce)
    );
    assert!(
        refused
            .challenge
            .starts_with("DPoP error=\"use_dpop_nonce\"")
    );
    let nonce = refused.nonce.expect("a fresh nonce");
    // The retry goes to another instance sharing the secret.
    ProofCheck::new(&second, &key)
        .claims(json!({ "nonce": nonce, "jti": "jti-2" }))
        .passes();
    let refused = ProofCheck::new(&second, &key)
        .claims(json!({ "nonce": nonce, "iat": NOW_MS / 1000.0 + 301.0 }))
        .at(Now::from_caller(Some(NOW_MS + 301_000.0)))
        .refused();
    assert_eq!(refused.code, TokenErrorCode::UseDpopNonce);
}

#[test]
fn a_public_url_decides_the_origin_of_htu() {
    let d = Dpop::new(
        Settings {
            public_url: Some("https://api.example.com".into()),
            ..settings(Mode::Allowed)
        },
        Style::default(),
        None,
        None,
    );
    let key = TestKey::new(Alg::ES256, "k");
    // The app saw an internal host; the proof names the public one.
    let internal = "http://10.0.0.7:8080/orders?page=2";
    ProofCheck::new(&d, &key).url(internal).passes();
    // Without it, the internal URL is what the proof must name.
    let allowed = dpop(Mode::Allowed);
    let refused = ProofCheck::new(&allowed, &key).url(internal).refused();
    assert_eq!(refused.code, TokenErrorCode::InvalidDpopProof);
}

#[test]
fn token_errors_of_dpop_requests_get_dpop_challenges() {
    let d = dpop(Mode::Allowed);
    let dpop_request = request(Some(Scheme::Dpop), &["p"]);
    let refused = refusal(d.answer_token_error(Error::token("expired"), &dpop_request));
    assert_eq!(
        (refused.status, refused.challenge.as_str()),
        (
            401,
            "DPoP error=\"invalid_token\", algs=\"ES256 RS256 EdDSA\""
        )
    );
    let scope = Error::token_with("scope", TokenErrorCode::InsufficientScope);
    assert_eq!(
        refusal(d.answer_token_error(scope, &dpop_request)).status,
        403
    );
    let bearer = request(Some(Scheme::Bearer), &[]);
    assert!(matches!(
        d.answer_token_error(Error::token("x"), &bearer),
        Error::Token { .. }
    ));
}

/// Where a proof's time goes: `cargo test --release dpop::tests::timing -- --ignored --nocapture`.
#[test]
#[ignore = "timing diagnostics"]
fn timing() {
    use std::time::Instant;
    let d = dpop(Mode::Allowed);
    let key = TestKey::new(Alg::ES256, "k");
    let claims = bound_to(&key);
    let proofs: Vec<String> = (0..2000)
        .map(|i| proof_by(&key, json!({ "jti": format!("j{i}") })))
        .collect();
    let t = Instant::now();
    for proof in &proofs {
        let request = request(Some(Scheme::Dpop), &[proof]);
        let ticket = d
            .check_token(TOKEN, &claims, false, &request, now())
            .unwrap()
            .unwrap();
        d.reserve_now(ticket, now()).unwrap().unwrap();
    }
    eprintln!("check + reserve: {:?} per proof", t.elapsed() / 2000);
    let htu = htu::normalise(URL).unwrap();
    let expected = proof::Expected {
        algorithms: &Alg::ALL,
        keys: &proof::ProofKeys::default(),
        method: "GET",
        htu: &htu,
        token_sha256: &crate::core::cache::token_key(TOKEN),
        now_seconds: NOW_MS / 1000.0,
        iat_offset: 300.0,
        iat_leeway: 30.0,
    };
    let t = Instant::now();
    for proof in &proofs {
        proof::verify(proof, &expected).unwrap();
    }
    eprintln!("proof::verify: {:?} per proof", t.elapsed() / 2000);
}

#[test]
#[ignore = "timing diagnostics"]
fn timing_ecdsa() {
    use crate::core::jose::b64url_decode;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ParsedPublicKey, UnparsedPublicKey};
    use std::time::Instant;
    let key = TestKey::new(Alg::ES256, "k");
    let jwk = key.jwk();
    let x = b64url_decode(jwk["x"].as_str().unwrap()).unwrap();
    let y = b64url_decode(jwk["y"].as_str().unwrap()).unwrap();
    let mut point = vec![4u8];
    point.extend(x);
    point.extend(y);
    let message = b"header.payload";
    let signature = key.sign_bytes(message);
    let t = Instant::now();
    for _ in 0..2000 {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
            .verify(message, &signature)
            .unwrap();
    }
    eprintln!("unparsed: {:?}", t.elapsed() / 2000);
    let parsed = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point).unwrap();
    let t = Instant::now();
    for _ in 0..2000 {
        parsed.verify_sig(message, &signature).unwrap();
    }
    eprintln!("parsed: {:?}", t.elapsed() / 2000);
}

/// A request without any token is told every scheme it may use: both while DPoP is allowed,
/// DPoP alone when required, and the original's plain `Bearer` when DPoP is off.
#[test]
fn the_no_token_challenge_offers_each_usable_scheme() {
    let algs = r#"algs="ES256 RS256 EdDSA""#;
    assert_eq!(
        dpop(Mode::Allowed).no_token_challenge().as_deref(),
        Some(format!("Bearer, DPoP {algs}").as_str())
    );
    assert_eq!(
        dpop(Mode::Required).no_token_challenge().as_deref(),
        Some(format!("DPoP {algs}").as_str())
    );
    assert_eq!(dpop(Mode::Disabled).no_token_challenge(), None);
}

/// With the `challenge` option, DPoP's challenges carry the realm, the description and, on
/// `insufficient_scope`, the route's scopes; a request without a token names no error.
#[test]
fn complete_challenges_on_dpop_answers() {
    let d = Dpop::new(
        settings(Mode::Allowed),
        Style {
            full: true,
            realm: Some("api".into()),
            describe: true,
            resource_metadata: Some(
                "https://api.example.com/.well-known/oauth-protected-resource".into(),
            ),
        },
        None,
        None,
    );
    let algs = r#"algs="ES256 RS256 EdDSA""#;
    const RM: &str =
        r#"resource_metadata="https://api.example.com/.well-known/oauth-protected-resource""#;
    assert_eq!(
        d.no_token_challenge().unwrap(),
        format!(r#"Bearer realm="api", {RM}, DPoP realm="api", {RM}, {algs}"#)
    );
    let request = Request {
        scheme: Some(Scheme::Dpop),
        requirements: crate::core::claims::Requirements {
            scopes: Some(vec!["read".into(), "write".into()]),
            ..Default::default()
        },
        ..Request::default()
    };
    let refused = d.answer_token_error(
        Error::token_with("x", TokenErrorCode::InsufficientScope),
        &request,
    );
    let Error::Dpop(refusal) = refused else {
        panic!("not a DPoP refusal: {refused:?}")
    };
    assert_eq!(
        refusal.challenge,
        format!(
            r#"DPoP realm="api", error="insufficient_scope", error_description="The access token does not grant what this resource requires", scope="read write", {RM}, {algs}"#
        )
    );
    let disabled = Dpop::new(
        settings(Mode::Disabled),
        Style {
            full: true,
            realm: Some("api".into()),
            describe: true,
            resource_metadata: Some(
                "https://api.example.com/.well-known/oauth-protected-resource".into(),
            ),
        },
        None,
        None,
    );
    assert_eq!(
        disabled.no_token_challenge().as_deref(),
        Some(format!(r#"Bearer realm="api", {RM}"#).as_str())
    );
}
