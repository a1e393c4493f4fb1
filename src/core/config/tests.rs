use super::*;

fn obj(members: &[(&str, Input)]) -> Input {
    Input::Object(
        members
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    )
}

fn s(v: &str) -> Input {
    Input::Str(v.to_owned())
}

fn base(extra: &[(&str, Input)]) -> Input {
    let mut members = vec![
        ("tenantDomain", s("https://tenant.example.com")),
        ("audience", s("https://api.example.com")),
    ];
    members.extend_from_slice(extra);
    obj(&members)
}

fn env(pairs: &[(&str, &str)]) -> Env {
    pairs
        .iter()
        .map(|(k, v)| (format!("MONOCLOUD_BACKEND_{k}"), (*v).to_owned()))
        .collect()
}

fn node(options: &Input, env: &Env) -> Result<Config> {
    resolve(options, env, Profile::NodeClient)
}

fn message(options: &Input, env: &Env) -> String {
    match node(options, env) {
        Err(Error::Validation(m)) => m.into_owned(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn defaults() {
    let c = node(&base(&[]), &Env::new()).unwrap();
    assert_eq!(c.issuer, "https://tenant.example.com");
    assert_eq!(c.client_auth_method, ClientAuthMethod::ClientSecretPost);
    assert_eq!(c.clock_skew, 0.0);
    assert_eq!(c.clock_tolerance, 60.0);
    assert_eq!(c.jwks_cache_duration, 300.0);
    assert_eq!(c.metadata_cache_duration, 300.0);
    assert!(!c.introspect_jwt_tokens);
    assert_eq!(c.certificate_binding, Some(BindingMode::WhenPresent));
    assert_eq!(c.response_timeout_ms, Some(10_000.0));
    assert_eq!(c.introspection_cache_duration, 300.0);
    // The built-in introspection store is opt-in (revised DECISION 20).
    assert_eq!(c.introspection_cache_max_entries, 0);
    assert_eq!(c.token_cache_max_entries, 10_000);
    assert_eq!(c.groups_claim, "groups");
    assert!(!c.groups_match_all);
    assert!(!c.introspection_configured());
}

#[test]
fn environment_fills_every_option() {
    let e = env(&[
        ("TENANT_DOMAIN", "https://t.example.com/"),
        ("AUDIENCE", "urn:api:x"),
        ("CLIENT_ID", "cid"),
        ("CLIENT_SECRET", "shh"),
        ("CLIENT_AUTH_METHOD", "client_secret_basic"),
        ("TRUST_STORE_ID", "store"),
        ("GROUPS_CLAIM", "roles"),
        ("GROUPS_MATCH_ALL", " TRUE "),
        ("CLOCK_SKEW", " 7 "),
        ("CLOCK_TOLERANCE", "10s"),
        ("JWKS_CACHE_DURATION", "1.9"),
        ("METADATA_CACHE_DURATION", "1e3"),
        ("INTROSPECT_JWT_TOKENS", "true"),
        ("VALIDATE_CERTIFICATE_BINDING", "required"),
        ("RESPONSE_TIMEOUT", "3000"),
        ("INTROSPECTION_CACHE_DURATION", "0x10"),
    ]);
    let c = node(&Input::Missing, &e).unwrap();
    assert_eq!(c.issuer, "https://t.example.com");
    assert_eq!(c.audience, "urn:api:x");
    assert_eq!(c.client_id.as_deref(), Some("cid"));
    assert_eq!(c.client_secret, Some(ClientSecret::Text("shh".into())));
    assert_eq!(c.client_auth_method, ClientAuthMethod::ClientSecretBasic);
    assert_eq!(c.trust_store_id.as_deref(), Some("store"));
    assert_eq!(c.groups_claim, "roles");
    assert!(c.groups_match_all);
    assert_eq!(c.clock_skew, 7.0);
    assert_eq!(c.clock_tolerance, 10.0);
    assert_eq!(c.jwks_cache_duration, 1.0);
    assert_eq!(c.metadata_cache_duration, 1.0);
    assert!(c.introspect_jwt_tokens);
    assert_eq!(c.certificate_binding, Some(BindingMode::Required));
    assert_eq!(c.response_timeout_ms, Some(3000.0));
    assert_eq!(c.introspection_cache_duration, 0.0);
    assert!(c.introspection_configured());
}

#[test]
fn options_beat_environment_and_null_falls_through() {
    let e = env(&[("AUDIENCE", "https://env.example.com"), ("CLOCK_SKEW", "5")]);
    let o = obj(&[
        ("tenantDomain", s("https://t.example.com")),
        ("audience", Input::Null),
        ("clockSkew", Input::Number(2.0)),
    ]);
    let c = node(&o, &e).unwrap();
    assert_eq!(c.audience, "https://env.example.com");
    assert_eq!(c.clock_skew, 2.0);
}

#[test]
fn unparseable_env_values_fall_back_to_defaults() {
    let e = env(&[
        ("CLOCK_TOLERANCE", "abc"),
        ("INTROSPECT_JWT_TOKENS", "yes"),
        ("GROUPS_MATCH_ALL", "1"),
        ("CLOCK_SKEW", ""),
    ]);
    let c = node(&base(&[]), &e).unwrap();
    assert_eq!(c.clock_tolerance, 60.0);
    assert!(!c.introspect_jwt_tokens);
    assert!(!c.groups_match_all);
    assert_eq!(c.clock_skew, 0.0);
}

#[test]
fn upstream_messages() {
    let none = Env::new();
    let cases: Vec<(Input, Env, &str)> = vec![
        (Input::Missing, none.clone(), "\"tenantDomain\" is required"),
        (
            obj(&[("tenantDomain", s("https://t.example.com"))]),
            none.clone(),
            "\"audience\" is required",
        ),
        (
            obj(&[
                ("tenantDomain", s("example.com")),
                ("audience", s("https://a")),
            ]),
            none.clone(),
            "\"tenantDomain\" must be a valid uri",
        ),
        (
            obj(&[("tenantDomain", s("https://t")), ("audience", s("api"))]),
            none.clone(),
            "\"audience\" must be a valid uri",
        ),
        (
            Input::Missing,
            env(&[("TENANT_DOMAIN", "")]),
            "\"tenantDomain\" is not allowed to be empty",
        ),
        (
            base(&[("clientId", s(""))]),
            none.clone(),
            "\"clientId\" is not allowed to be empty",
        ),
        (
            base(&[("clientSecret", s(""))]),
            none.clone(),
            "\"clientSecret\" is not allowed to be empty",
        ),
        (
            base(&[("trustStoreId", s(""))]),
            none.clone(),
            "\"trustStoreId\" is not allowed to be empty",
        ),
        (
            base(&[("clientAuthMethod", s("bogus"))]),
            none.clone(),
            "\"clientAuthMethod\" must be one of [client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt, tls_client_auth, self_signed_tls_client_auth, spiffe_jwt, spiffe_x509]",
        ),
        (
            base(&[]),
            env(&[("CLIENT_AUTH_METHOD", "")]),
            "\"clientAuthMethod\" must be one of [client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt, tls_client_auth, self_signed_tls_client_auth, spiffe_jwt, spiffe_x509]",
        ),
        (
            base(&[
                ("clientAuthMethod", s("private_key_jwt")),
                ("clientSecret", s("plain")),
            ]),
            none.clone(),
            "clientSecret must be a valid JWK when clientAuthMethod is 'private_key_jwt'",
        ),
        (
            base(&[
                ("clientAuthMethod", s("private_key_jwt")),
                ("clientSecret", Input::Array(vec![])),
            ]),
            none.clone(),
            "clientSecret must be a valid JWK when clientAuthMethod is 'private_key_jwt'",
        ),
        (
            base(&[("clientSecret", obj(&[("kty", s("RSA"))]))]),
            none.clone(),
            "\"clientSecret\" must be a string",
        ),
        (
            base(&[("clientSecret", s(r#"{"kty":"oct","k":"x"}"#))]),
            none.clone(),
            "\"clientSecret\" must be a string",
        ),
        (
            base(&[("clockSkew", Input::Number(-1.0))]),
            none.clone(),
            "\"clockSkew\" must be greater than or equal to 0",
        ),
        (
            base(&[]),
            env(&[("CLOCK_SKEW", "-5")]),
            "\"clockSkew\" must be greater than or equal to 0",
        ),
        (
            base(&[("clockTolerance", Input::Number(-1.0))]),
            none.clone(),
            "\"clockTolerance\" must be greater than or equal to 0",
        ),
        (
            base(&[("jwksCacheDuration", Input::Number(-1.0))]),
            none.clone(),
            "\"jwksCacheDuration\" must be greater than or equal to 0",
        ),
        (
            base(&[("metadataCacheDuration", Input::Number(-1.0))]),
            none.clone(),
            "\"metadataCacheDuration\" must be greater than or equal to 0",
        ),
        (
            base(&[("introspectionCacheDuration", Input::Number(-1.0))]),
            none.clone(),
            "\"introspectionCacheDuration\" must be greater than or equal to 0",
        ),
        (
            base(&[("responseTimeout", Input::Number(999.0))]),
            none.clone(),
            "\"responseTimeout\" must be greater than or equal to 1000",
        ),
        (
            base(&[("responseTimeout", Input::Number(0.0))]),
            none.clone(),
            "\"responseTimeout\" must be greater than or equal to 1000",
        ),
        (
            base(&[("clockSkew", Input::Number(f64::NAN))]),
            none.clone(),
            "\"clockSkew\" must be a number",
        ),
        (
            base(&[("clockSkew", s("abc"))]),
            none.clone(),
            "\"clockSkew\" must be a number",
        ),
        (
            base(&[("introspectJwtTokens", s("yes"))]),
            none.clone(),
            "\"introspectJwtTokens\" must be a boolean",
        ),
        (
            base(&[("validateCertificateBinding", Input::Bool(true))]),
            none.clone(),
            "\"validateCertificateBinding\" must be one of [when_present, required, dangerously_ignore]",
        ),
        (
            base(&[("validateCertificateBinding", s("REQUIRED"))]),
            none.clone(),
            "\"validateCertificateBinding\" must be one of [when_present, required, dangerously_ignore]",
        ),
        (
            base(&[]),
            env(&[("VALIDATE_CERTIFICATE_BINDING", "")]),
            "\"validateCertificateBinding\" must be one of [when_present, required, dangerously_ignore]",
        ),
        (
            base(&[("cache", obj(&[]))]),
            none.clone(),
            "\"cache.set\" is required",
        ),
        (
            base(&[(
                "cache",
                obj(&[("set", Input::Function), ("delete", Input::Function)]),
            )]),
            none.clone(),
            "\"cache.get\" is required",
        ),
        (
            base(&[(
                "cache",
                obj(&[("set", Input::Function), ("get", Input::Function)]),
            )]),
            none.clone(),
            "\"cache.delete\" is required",
        ),
        (
            base(&[(
                "cache",
                obj(&[
                    ("set", Input::Function),
                    ("get", s("x")),
                    ("delete", Input::Function),
                ]),
            )]),
            none.clone(),
            "\"cache.get\" must be of type function",
        ),
        (
            base(&[("fetcher", s("x"))]),
            none.clone(),
            "\"fetcher\" must be of type function",
        ),
        (
            base(&[("metadataResolver", Input::Number(1.0))]),
            none.clone(),
            "\"metadataResolver\" must be of type function",
        ),
        (
            base(&[("jwksResolver", obj(&[]))]),
            none.clone(),
            "\"jwksResolver\" must be of type function",
        ),
        (
            base(&[("groupOptions", obj(&[("groupsClaim", Input::Number(5.0))]))]),
            none.clone(),
            "\"groupOptions.groupsClaim\" must be a string",
        ),
        (
            base(&[("groupOptions", obj(&[("groupsClaim", s(""))]))]),
            none.clone(),
            "\"groupOptions.groupsClaim\" is not allowed to be empty",
        ),
        (
            base(&[("groupOptions", obj(&[("matchAll", s("yes"))]))]),
            none.clone(),
            "\"groupOptions.matchAll\" must be a boolean",
        ),
    ];
    for (options, e, expected) in cases {
        assert_eq!(message(&options, &e), expected, "for {options:?} / {e:?}");
    }
}

#[test]
fn the_first_problem_in_field_order_wins() {
    let o = obj(&[
        ("tenantDomain", s("https://t")),
        ("audience", s("https://a")),
        ("clockSkew", Input::Number(-1.0)),
        ("clientId", s("")),
        ("responseTimeout", Input::Number(1.0)),
    ]);
    assert_eq!(
        message(&o, &Env::new()),
        "\"clientId\" is not allowed to be empty"
    );
}

#[test]
fn joi_conversions_on_programmatic_options() {
    let c = node(
        &base(&[
            ("clockSkew", s(" 5 ")),
            ("clockTolerance", Input::Number(1.5)),
            ("introspectJwtTokens", s("TRUE")),
            ("groupOptions", s("ignored when not an object")),
        ]),
        &Env::new(),
    )
    .unwrap();
    assert_eq!(c.clock_skew, 5.0);
    assert_eq!(c.clock_tolerance, 1.5);
    assert!(c.introspect_jwt_tokens);
}

#[test]
fn jwk_secrets() {
    let jwk = r#"{"kty":"EC","x":"MQNq8N-UrdeHP6SwaVVRRxx2YIdPrBxsuxQLa6hpxLA","y":"lmTiw00UclrS0NOR0qPR7luYhrpAFkudWrV_WBuFpuE","crv":"P-256","d":"p-yv1l-uOV9YCkAIsmKDJdpez91Nyjg8R9w6QRMM86w","alg":"ES256"}"#;
    let c = node(
        &base(&[]),
        &env(&[
            ("CLIENT_AUTH_METHOD", "private_key_jwt"),
            ("CLIENT_SECRET", jwk),
        ]),
    )
    .unwrap();
    assert!(matches!(c.client_secret, Some(ClientSecret::Jwk(ref m)) if m["kty"] == "EC"));
    // A key that cannot sign is refused here, not on the first introspection, and its
    // members are not in the message.
    for broken in [
        jwk.replace("p-yv1l", "p+yv1l"),
        jwk.replace(r#""alg":"ES256""#, r#""alg":"none""#),
        jwk.replace(r#""crv":"P-256""#, r#""crv":"P-384""#),
        r#"{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c","alg":"ES256"}"#.to_owned(),
        r#"{"kty":"oct","k":"c2VjcmV0","alg":"ES256"}"#.to_owned(),
    ] {
        let error = node(
            &base(&[]),
            &env(&[
                ("CLIENT_AUTH_METHOD", "private_key_jwt"),
                ("CLIENT_SECRET", &broken),
            ]),
        )
        .unwrap_err();
        assert!(matches!(error, Error::Validation(_)), "{broken}: {error:?}");
        assert!(!error.to_string().contains("yv1l"), "{error}");
    }
    // A missing key is accepted at construction; introspection reports it later.
    let c = node(
        &base(&[("clientAuthMethod", s("private_key_jwt"))]),
        &Env::new(),
    )
    .unwrap();
    assert_eq!(c.client_secret, None);
    // JSON that is not a JWK stays a plain secret.
    let c = node(&base(&[("clientSecret", s("[1,2]"))]), &Env::new()).unwrap();
    assert_eq!(c.client_secret, Some(ClientSecret::Text("[1,2]".into())));
}

/// DECISION 31: `client_secret_jwt` takes a symmetric JWK as an object, as JSON text or from
/// the environment; a bad one is refused at construction.
#[test]
fn client_secret_jwt_takes_a_symmetric_jwk() {
    use crate::core::client_auth::HmacAlg;
    let k =
        "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB";
    let jwk_text = format!(r#"{{"kty":"oct","k":"{k}","alg":"HS512","kid":"k1"}}"#);
    let method = ("clientAuthMethod", s("client_secret_jwt"));
    let object = obj(&[("kty", s("oct")), ("k", s(k)), ("alg", s("HS384"))]);
    let symmetric = |c: Config| match c.client_secret {
        Some(ClientSecret::Symmetric(key)) => (key.alg, key.kid, key.key.len()),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        symmetric(
            node(
                &base(&[method.clone(), ("clientSecret", object)]),
                &Env::new()
            )
            .unwrap()
        ),
        (HmacAlg::HS384, None, 66)
    );
    assert_eq!(
        symmetric(
            node(
                &base(&[method.clone(), ("clientSecret", s(&jwk_text))]),
                &Env::new()
            )
            .unwrap()
        ),
        (HmacAlg::HS512, Some("k1".to_owned()), 66)
    );
    let from_env = env(&[
        ("CLIENT_AUTH_METHOD", "client_secret_jwt"),
        ("CLIENT_SECRET", &jwk_text),
    ]);
    assert_eq!(
        symmetric(node(&base(&[]), &from_env).unwrap()).0,
        HmacAlg::HS512
    );
    // A plain string is still the HS256 secret it always was.
    let c = node(
        &base(&[method.clone(), ("clientSecret", s("plain"))]),
        &Env::new(),
    )
    .unwrap();
    assert_eq!(c.client_secret, Some(ClientSecret::Text("plain".into())));
    for bad in [
        obj(&[("kty", s("oct")), ("k", s("short")), ("alg", s("HS256"))]),
        obj(&[("kty", s("oct")), ("k", s(k)), ("alg", s("RS256"))]),
        obj(&[("kty", s("RSA")), ("n", s("x"))]),
        s(r#"{"kty":"oct","k":"!!","alg":"HS256"}"#),
    ] {
        let m = message(&base(&[method.clone(), ("clientSecret", bad)]), &Env::new());
        assert!(m.contains("clientSecret"), "{m}");
        assert!(!m.contains(k), "{m}");
    }
    // Other methods keep the original's rule: a JWK is not a string.
    assert_eq!(
        message(
            &base(&[
                ("clientAuthMethod", s("client_secret_post")),
                ("clientSecret", s(&jwk_text))
            ]),
            &Env::new()
        ),
        "\"clientSecret\" must be a string"
    );
}

#[test]
fn cache_instances_with_own_fields_are_accepted() {
    let cache = obj(&[
        ("store", obj(&[])),
        ("get", Input::Function),
        ("set", Input::Function),
        ("delete", Input::Function),
    ]);
    assert!(
        node(&base(&[("cache", cache)]), &Env::new())
            .unwrap()
            .has_cache
    );
}

#[test]
fn tenant_normalisation() {
    let issuer = |t: &str| {
        resolve(
            &obj(&[("tenantDomain", s(t)), ("audience", s("a"))]),
            &Env::new(),
            Profile::OidcClient,
        )
        .map(|c| c.issuer)
    };
    assert_eq!(issuer("example.com").unwrap(), "https://example.com");
    assert_eq!(
        issuer("https://t.example.com/").unwrap(),
        "https://t.example.com"
    );
    assert_eq!(
        issuer("https://t.example.com//").unwrap(),
        "https://t.example.com/"
    );
    assert_eq!(issuer("HTTPS://X").unwrap(), "https://HTTPS://X");
    assert_eq!(
        issuer("http://127.0.0.1:4000/").unwrap(),
        "http://127.0.0.1:4000"
    );
    assert_eq!(issuer("http://127.8.9.10").unwrap(), "http://127.8.9.10");
    assert_eq!(
        issuer("http://localhost:3000").unwrap(),
        "http://localhost:3000"
    );
    assert_eq!(issuer("http://[::1]:8080").unwrap(), "http://[::1]:8080");
    for refused in [
        "http://example.com",
        "http://127.0.0.1.evil.com",
        "http://localhost@evil.com",
        "http://10.0.0.1",
        "HTTP://example.com",
    ] {
        let err = issuer(refused).unwrap_err();
        assert!(
            err.to_string().contains("must use https"),
            "{refused}: {err}"
        );
    }
}

#[test]
fn uri_rules() {
    for ok in [
        "https://t.example.com",
        "urn:x:y",
        "https://[::1]:443/path?q=1#f",
        "https://a.b/%20",
        "ftp://x",
    ] {
        assert!(is_uri(ok), "{ok}");
    }
    for bad in [
        "example.com",
        "api",
        "https://a b",
        "https://a/%zz",
        "https://a:port",
        "1http://a",
        "https://a/#x#y",
        "https://tenant.example.com/ü",
        "",
    ] {
        assert!(!is_uri(bad), "{bad}");
    }
}

#[test]
fn the_oidc_client_reads_no_environment() {
    let e = env(&[("CLOCK_SKEW", "5"), ("AUDIENCE", "https://env")]);
    let o = obj(&[("tenantDomain", s("example.com")), ("audience", s("aud"))]);
    let c = resolve(&o, &e, Profile::OidcClient).unwrap();
    assert_eq!(c.clock_skew, 0.0);
    assert_eq!(c.audience, "aud");
    assert_eq!(c.client_auth_method, ClientAuthMethod::ClientSecretBasic);
    assert_eq!(c.response_timeout_ms, None);
    assert_eq!(c.certificate_binding, None);
}

#[test]
fn dpop_defaults_options_and_environment() {
    let c = node(&base(&[]), &Env::new()).unwrap();
    assert_eq!(c.dpop.mode, dpop::Mode::Allowed);
    assert_eq!(c.dpop.algorithms.len(), 10);
    assert_eq!((c.dpop.iat_offset, c.dpop.iat_leeway), (300.0, 30.0));
    assert_eq!(
        (c.dpop.nonce_secret.is_none(), c.dpop.nonce_lifetime),
        (true, 300.0)
    );
    assert_eq!(
        (c.dpop.replay, c.dpop.public_url.as_deref()),
        (dpop::Replay::Memory, None)
    );

    let given = obj(&[
        ("mode", s("required")),
        ("algorithms", Input::Array(vec![s("ES256"), s("EdDSA")])),
        ("iatOffset", Input::Number(60.0)),
        ("replayStore", Input::Bool(false)),
        ("publicUrl", s("HTTPS://API.example.com:443/base/")),
    ]);
    let c = node(&base(&[("dpop", given)]), &Env::new()).unwrap();
    assert_eq!(c.dpop.mode, dpop::Mode::Required);
    assert_eq!(c.dpop.algorithms, vec![Alg::ES256, Alg::EdDSA]);
    assert_eq!(c.dpop.iat_offset, 60.0);
    assert_eq!(c.dpop.replay, dpop::Replay::Off);
    assert_eq!(
        c.dpop.public_url.as_deref(),
        Some("https://api.example.com/base")
    );

    let from_env = env(&[
        ("DPOP_MODE", "disabled"),
        ("DPOP_ALGORITHMS", "ES384  PS256"),
        ("DPOP_IAT_LEEWAY", "5"),
        ("DPOP_NONCE_SECRET", "0123456789abcdef0123456789abcdef"),
        ("DPOP_NONCE_LIFETIME", "60"),
        ("PUBLIC_URL", "https://edge.example.com"),
    ]);
    let c = node(&base(&[]), &from_env).unwrap();
    assert_eq!(c.dpop.mode, dpop::Mode::Disabled);
    assert_eq!(c.dpop.algorithms, vec![Alg::ES384, Alg::PS256]);
    assert_eq!((c.dpop.iat_leeway, c.dpop.nonce_lifetime), (5.0, 60.0));
    assert!(c.dpop.nonce_secret.is_some());
    assert_eq!(
        c.dpop.public_url.as_deref(),
        Some("https://edge.example.com")
    );
    let with_store = obj(&[("replayStore", obj(&[("reserve", Input::Function)]))]);
    let c = node(&base(&[("dpop", with_store)]), &Env::new()).unwrap();
    assert_eq!(c.dpop.replay, dpop::Replay::Shared);
}

#[test]
fn dpop_misconfigurations_are_validation_errors() {
    let dpop_with =
        |members: &[(&str, Input)]| message(&base(&[("dpop", obj(members))]), &Env::new());
    assert_eq!(
        message(&base(&[("dpop", s("on"))]), &Env::new()),
        "\"dpop\" must be of type object"
    );
    assert_eq!(
        dpop_with(&[("mode", s("sometimes"))]),
        "\"dpop.mode\" must be one of [allowed, required, disabled]"
    );
    for bad in ["none", "HS256", "ES256 hs512"] {
        assert!(
            dpop_with(&[("algorithms", s(bad))]).contains("HMAC"),
            "{bad}"
        );
    }
    assert!(dpop_with(&[("algorithms", s("ES256K"))]).contains("supported"));
    assert!(dpop_with(&[("algorithms", Input::Array(vec![]))]).contains("at least one"));
    assert!(dpop_with(&[("nonceSecret", s("short"))]).contains("32 bytes"));
    assert!(dpop_with(&[("iatOffset", Input::Number(-1.0))]).contains("greater than or equal"));
    assert!(dpop_with(&[("nonceLifetime", Input::Number(0.0))]).contains("greater than or equal"));
    assert!(dpop_with(&[("replayStore", Input::Bool(true))]).contains("replayStore"));
    assert!(dpop_with(&[("replayStore", obj(&[]))]).contains("reserve"));
    assert!(dpop_with(&[("publicUrl", s("/relative"))]).contains("publicUrl"));
    assert!(dpop_with(&[("publicUrl", s("https://h/?q"))]).contains("publicUrl"));
    let env_secret = env(&[("DPOP_NONCE_SECRET", "short")]);
    assert!(message(&base(&[]), &env_secret).contains("32 bytes"));
}

#[test]
fn expected_issuer_and_other_audiences() {
    let config = node(
        &base(&[
            ("issuer", s("https://tenant.example.com/")),
            (
                "audiences",
                Input::Array(vec![s("https://a.example"), s("https://b.example")]),
            ),
        ]),
        &Env::new(),
    )
    .unwrap();
    // Discovery keeps the tenant URL; only the `iss` comparison takes the override.
    assert_eq!(config.issuer, "https://tenant.example.com");
    assert_eq!(
        config.expected_issuer.as_deref(),
        Some("https://tenant.example.com/")
    );
    assert_eq!(
        config.other_audiences,
        ["https://a.example", "https://b.example"]
    );
    let plain = node(&base(&[]), &Env::new()).unwrap();
    assert!(plain.expected_issuer.is_none() && plain.other_audiences.is_empty());
    assert_eq!(
        message(&base(&[("audiences", s("https://a.example"))]), &Env::new()),
        message(
            &base(&[("audiences", Input::Array(vec![Input::Number(1.0)]))]),
            &Env::new()
        )
        .replace("contain only non-empty strings", "be an array of strings")
    );
}

#[test]
fn hmac_secret_and_alg_come_together() {
    let with = |extra: &[(&str, Input)]| message(&base(extra), &Env::new());
    assert_eq!(
        with(&[("hmacSecret", s("k"))]),
        "\"hmacAlg\" is required with hmacSecret"
    );
    assert_eq!(
        with(&[("hmacAlg", s("HS256"))]),
        "\"hmacSecret\" is required with hmacAlg"
    );
    assert_eq!(
        with(&[("hmacSecret", s("k")), ("hmacAlg", s("RS256"))]),
        "\"hmacAlg\" must be one of [HS256, HS384, HS512]"
    );
    let config = node(
        &base(&[("hmacSecret", s("k")), ("hmacAlg", s("HS384"))]),
        &Env::new(),
    )
    .unwrap();
    assert_eq!(
        config.pinned_secret.map(|(alg, _)| alg),
        Some(HmacAlg::HS384)
    );
}

#[test]
fn token_profile_options() {
    let c = node(&base(&[]), &Env::new()).unwrap();
    assert_eq!((c.require_at_jwt, c.max_token_age), (false, None));
    let c = node(
        &base(&[
            ("requireTokenType", s("at+jwt")),
            ("maxTokenAge", Input::Number(600.0)),
        ]),
        &Env::new(),
    )
    .unwrap();
    assert_eq!((c.require_at_jwt, c.max_token_age), (true, Some(600.0)));
    let from_env = env(&[("REQUIRE_TOKEN_TYPE", "at+jwt"), ("MAX_TOKEN_AGE", "90")]);
    let c = node(&base(&[]), &from_env).unwrap();
    assert_eq!((c.require_at_jwt, c.max_token_age), (true, Some(90.0)));
    assert_eq!(
        message(&base(&[("requireTokenType", s("JWT"))]), &Env::new()),
        "\"requireTokenType\" must be one of [at+jwt]"
    );
    assert_eq!(
        message(&base(&[("maxTokenAge", Input::Number(-1.0))]), &Env::new()),
        "\"maxTokenAge\" must be greater than or equal to 0"
    );
}

#[test]
fn protected_resource_options() {
    assert_eq!(
        node(&base(&[]), &Env::new()).unwrap().protected_resource,
        None
    );
    let c = node(
        &base(&[(
            "protectedResource",
            obj(&[
                ("resource", s("https://api.example.com/mcp")),
                ("scopesSupported", Input::Array(vec![s("read"), s("write")])),
                ("resourceName", s("Orders")),
            ]),
        )]),
        &Env::new(),
    )
    .unwrap();
    let resource = c.protected_resource.as_ref().unwrap();
    assert_eq!(
        resource.metadata_url,
        "https://api.example.com/.well-known/oauth-protected-resource/mcp"
    );
    let document: Value = serde_json::from_str(&resource.document).unwrap();
    assert_eq!(document["authorization_servers"][0], c.issuer.as_str());
    assert_eq!(document["scopes_supported"][1], "write");
    assert_eq!(document["resource_name"], "Orders");
    assert_eq!(document["dpop_bound_access_tokens_required"], false);
    assert_eq!(
        document.get("tls_client_certificate_bound_access_tokens"),
        None
    );
    // It turns the complete challenges on, pointing at the document.
    assert!(c.challenge.full && c.challenge.describe);
    assert_eq!(
        c.challenge.resource_metadata.as_deref(),
        Some(resource.metadata_url.as_str())
    );

    let from_env = env(&[
        ("RESOURCE", "https://api.example.com"),
        ("RESOURCE_SCOPES", "a b"),
    ]);
    let c = node(&base(&[]), &from_env).unwrap();
    let document: Value = serde_json::from_str(&c.protected_resource.unwrap().document).unwrap();
    assert_eq!(document["scopes_supported"], serde_json::json!(["a", "b"]));

    let problem = |members: &[(&str, Input)]| {
        message(&base(&[("protectedResource", obj(members))]), &Env::new())
    };
    assert_eq!(problem(&[]), "\"protectedResource.resource\" is required");
    for bad in [
        "http://api.example.com",
        "https://api.example.com/#x",
        "api",
    ] {
        assert!(
            problem(&[("resource", s(bad))]).starts_with("\"protectedResource.resource\" must be"),
            "{bad}"
        );
    }
    let with = |name: &str, value: Input| {
        problem(&[("resource", s("https://api.example.com")), (name, value)])
    };
    assert!(with("authorizationServers", Input::Array(vec![])).contains("authorizationServers"));
    assert!(with("bearerMethodsSupported", Input::Array(vec![s("cookie")])).contains("one of"));
    assert!(with("resourceTosUri", s("not a url")).contains("resourceTosUri"));
    assert!(with("scopesSupported", Input::Number(1.0)).contains("scopesSupported"));
    assert_eq!(
        message(&base(&[("protectedResource", s("x"))]), &Env::new()),
        "\"protectedResource\" must be of type object"
    );
}
