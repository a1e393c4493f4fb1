//! DPoP on the resource server (RFC 9449): which requests need a proof, in what order the
//! checks run, and how each refusal is answered. A request is checked in three steps:
//! its shape before the token is looked at (`check_shape`), then, once the token is valid,
//! its proof and the token's binding (`check_token`), and last, once everything else passed,
//! the proof's one-time use (`reserve`). A verified-token cache hit runs the last two as well:
//! the cache saves the token's signature check, never the proof's.

pub mod htu;
pub mod nonce;
pub mod proof;
pub mod replay;
pub mod thumbprint;

#[cfg(test)]
pub mod tests;

use std::borrow::Cow;
use std::time::Duration;

use aws_lc_rs::constant_time;
use serde_json::{Map, Value};

use self::nonce::Nonces;
use self::proof::{Expected, ProofKeys};
use self::replay::{ReplayStore, replay_key};
use std::sync::Arc;

use super::cache::token_key;
use super::callbacks::JsCall;
use super::challenge::{Params, Style};
use super::clock::Now;
use super::config::Redacted;
use super::error::{Error, Result, TokenErrorCode};
use super::events::Events;
use super::jose::Alg;
use super::request::Request;
use crate::store::SharedStore;

/// `dpop.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Bearer and DPoP; a proof is checked for the `DPoP` scheme and for bound tokens.
    Allowed,
    /// DPoP only.
    Required,
    /// The original's behaviour: the `DPoP` scheme is no token, bound tokens pass as Bearer.
    Disabled,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Allowed, Mode::Required, Mode::Disabled];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Allowed => "allowed",
            Mode::Required => "required",
            Mode::Disabled => "disabled",
        }
    }

    pub fn parse(text: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|mode| mode.as_str() == text)
    }
}

/// `dpop.replayStore`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    Memory,
    Off,
    /// The user's `{ reserve }`, reached through a callback.
    Shared,
}

/// The `dpop` options, resolved and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub mode: Mode,
    pub algorithms: Vec<Alg>,
    pub iat_offset: f64,
    pub iat_leeway: f64,
    pub nonce_secret: Option<Redacted<Vec<u8>>>,
    pub nonce_lifetime: f64,
    pub replay: Replay,
    /// `dpop.onStoreError: 'allow'`: a proof the shared store could not reserve in time
    /// passes; by default (`reject`) the request is answered 503.
    pub allow_on_store_error: bool,
    /// The public origin and base path, without a trailing slash.
    pub public_url: Option<String>,
}

/// The scheme an `Authorization` value used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Bearer,
    Dpop,
}

/// A refused request and how to answer it: the status, the `WWW-Authenticate` challenge and,
/// for `use_dpop_nonce`, the nonce to retry with.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub message: Cow<'static, str>,
    pub code: TokenErrorCode,
    pub status: u16,
    pub challenge: String,
    pub nonce: Option<String>,
}

/// A proof that passed every check but its one-time use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ticket {
    key: [u8; 32],
    /// Until when the proof could still be accepted (caller's clock, ms).
    expires_ms: f64,
}

pub struct Dpop {
    settings: Settings,
    /// How challenges are written (the `challenge` option).
    style: Style,
    /// ` algs="ES256 …"`, as every DPoP challenge carries it.
    algs: String,
    nonces: Option<Nonces>,
    replay: ReplayStore,
    proof_keys: ProofKeys,
}

impl Dpop {
    pub fn new(
        settings: Settings,
        style: Style,
        reserve: Option<JsCall>,
        timeout: Option<Duration>,
    ) -> Dpop {
        let names: Vec<&str> = settings.algorithms.iter().map(|alg| alg.name()).collect();
        let replay = match (settings.replay, reserve) {
            (Replay::Off, _) => ReplayStore::Off,
            (Replay::Shared, Some(reserve)) => ReplayStore::Callback { reserve, timeout },
            // A shared store whose callback did not arrive must not mean "no replay checks".
            (Replay::Shared | Replay::Memory, _) => ReplayStore::memory(),
        };
        Dpop {
            algs: format!("algs=\"{}\"", names.join(" ")),
            nonces: settings
                .nonce_secret
                .as_ref()
                .map(|secret| Nonces::new(&secret.0, settings.nonce_lifetime)),
            replay,
            proof_keys: ProofKeys::default(),
            settings,
            style,
        }
    }

    pub fn mode(&self) -> Mode {
        self.settings.mode
    }

    /// With the fleet's shared store, proofs are reserved there (`SET NX PX`) unless the user
    /// gave a store of their own or turned replay checks off.
    pub fn share_replay(&mut self, store: Arc<SharedStore>, events: Events) {
        if self.settings.replay == Replay::Memory {
            self.replay = ReplayStore::Shared {
                store,
                events,
                allow_on_error: self.settings.allow_on_store_error,
            };
        }
    }

    /// The challenge of a request without any token, when it differs from plain `Bearer`: both
    /// schemes while DPoP is allowed (RFC 9449 §7.1 lets a resource offer several, so a client
    /// learns it may bind its tokens), only DPoP when it is required, the original's `Bearer`
    /// when it is disabled.
    pub fn no_token_challenge(&self) -> Option<String> {
        let bearer = self.style.write("Bearer", Params::default());
        match self.settings.mode {
            Mode::Allowed => Some(format!("{bearer}, {}", self.offer())),
            Mode::Required => Some(self.offer()),
            Mode::Disabled => (bearer != "Bearer").then_some(bearer),
        }
    }

    /// The DPoP scheme offered without an error.
    fn offer(&self) -> String {
        self.style.write(
            "DPoP",
            Params {
                extra: Some(&self.algs),
                ..Params::default()
            },
        )
    }

    /// Whether a request's proof can be checked without waiting (a cache hit answers at once).
    pub fn is_synchronous(&self) -> bool {
        !self.replay.is_async()
    }

    /// The challenge of a refused token with this scheme, as a DPoP request must get it.
    fn challenge(&self, error: &str) -> String {
        self.challenge_with(error, None)
    }

    fn challenge_with(&self, error: &str, scopes: Option<&[String]>) -> String {
        self.style.write(
            "DPoP",
            Params {
                error: Some(error),
                scopes,
                extra: Some(&self.algs),
                ..Params::default()
            },
        )
    }

    fn refuse(
        &self,
        code: TokenErrorCode,
        status: u16,
        challenge: String,
        message: impl Into<Cow<'static, str>>,
    ) -> Error {
        Error::Dpop(Box::new(Refusal {
            message: message.into(),
            code,
            status,
            challenge,
            nonce: None,
        }))
    }

    fn invalid_proof(&self, message: impl Into<Cow<'static, str>>) -> Error {
        let challenge = self.challenge("invalid_dpop_proof");
        self.refuse(TokenErrorCode::InvalidDpopProof, 401, challenge, message)
    }

    fn binding_mismatch(&self, message: &'static str) -> Error {
        let challenge = self.challenge("invalid_token");
        self.refuse(TokenErrorCode::InvalidToken, 401, challenge, message)
    }

    /// RFC 9449 §4.3 point 1 and §7.1: at most one proof, no list of them, a proof only with
    /// the `DPoP` scheme, and no `DPoP` scheme without a proof. Malformed requests are 400.
    pub fn check_shape(&self, request: &Request) -> Result<()> {
        if self.settings.mode == Mode::Disabled {
            return Ok(());
        }
        let malformed = |message: &'static str| {
            let challenge = match request.scheme {
                Some(Scheme::Bearer) => self.style.write(
                    "Bearer",
                    Params {
                        error: Some("invalid_request"),
                        ..Params::default()
                    },
                ),
                _ => self.challenge("invalid_request"),
            };
            Err(self.refuse(TokenErrorCode::InvalidRequest, 400, challenge, message))
        };
        if request.dpop.len() > 1 || request.dpop.iter().any(|proof| proof.contains(',')) {
            return malformed("A request must carry at most one DPoP proof");
        }
        // An empty `DPoP` header carries no proof.
        let has_proof = request.dpop.iter().any(|proof| !proof.trim().is_empty());
        match request.scheme {
            Some(Scheme::Bearer) if has_proof => {
                malformed("A DPoP proof was sent with the Bearer scheme")
            }
            Some(Scheme::Dpop) if !has_proof => {
                malformed("The DPoP scheme was used without a DPoP proof")
            }
            _ => Ok(()),
        }
    }

    /// A token error of a request that used the `DPoP` scheme, answered with a DPoP challenge.
    pub fn answer_token_error(&self, error: Error, request: &Request) -> Error {
        if self.settings.mode == Mode::Disabled || request.scheme != Some(Scheme::Dpop) {
            return error;
        }
        match error {
            // Answered with the route's step-up challenge by the JavaScript face (RFC 9470).
            Error::Token {
                code: TokenErrorCode::InsufficientUserAuthentication,
                ..
            } => error,
            Error::Token { message, code } => {
                let (status, challenge) = match code {
                    TokenErrorCode::InsufficientScope | TokenErrorCode::InsufficientGroups => {
                        let scopes = request.requirements.scopes.as_deref();
                        (403, self.challenge_with("insufficient_scope", scopes))
                    }
                    _ => (401, self.challenge("invalid_token")),
                };
                self.refuse(code, status, challenge, message)
            }
            other => other,
        }
    }

    /// The proof and the binding of a valid token (its claims, or the introspection answer
    /// with `introspected`). `Ok(None)` when no proof was needed; otherwise the ticket to
    /// reserve once every other check has passed.
    pub fn check_token(
        &self,
        token: &str,
        claims: &Map<String, Value>,
        introspected: bool,
        request: &Request,
        now: Now,
    ) -> Result<Option<Ticket>> {
        let token_sha256 = token_key(token);
        self.check_bound_token(&token_sha256, bound_key(claims, introspected), request, now)
    }

    /// `check_token` for a token whose SHA-256 and binding were read before (a verified-token
    /// cache entry).
    pub fn check_bound_token(
        &self,
        token_sha256: &[u8; 32],
        bound: BoundKey,
        request: &Request,
        now: Now,
    ) -> Result<Option<Ticket>> {
        if self.settings.mode == Mode::Disabled {
            return Ok(None);
        }
        let jkt = bound.map_err(|message| self.binding_mismatch(message))?;
        // A token a resolver found has no scheme: a proof beside it is checked as with `DPoP`.
        let with_proof = match request.scheme {
            Some(Scheme::Dpop) => true,
            Some(Scheme::Bearer) => false,
            None => !request.dpop.is_empty(),
        };
        if !with_proof {
            // `validateAccessToken(token)`: how the token was sent is unknown, so the original's
            // answer stands; requests (protectApi, validateRequest, resolvers) always say.
            let request_known = request.scheme.is_some() || request.method.is_some();
            if !request_known {
                return Ok(None);
            }
            if jkt.is_some() {
                let bearer = self.style.write(
                    "Bearer",
                    Params {
                        error: Some("invalid_token"),
                        ..Params::default()
                    },
                );
                let challenge = format!("{bearer}, {}", self.offer());
                return Err(self.refuse(
                    TokenErrorCode::InvalidToken,
                    401,
                    challenge,
                    "A DPoP-bound access token must be sent with its DPoP proof",
                ));
            }
            if self.settings.mode == Mode::Required {
                return Err(self.refuse(
                    TokenErrorCode::InvalidToken,
                    401,
                    self.offer(),
                    "Access tokens must be DPoP-bound and sent with a DPoP proof",
                ));
            }
            return Ok(None);
        }
        let Some(jkt) = jkt else {
            return Err(self.binding_mismatch("The access token is not bound to a DPoP key"));
        };
        let Some(proof_text) = request.dpop.first() else {
            return Err(self.invalid_proof("The DPoP proof is missing"));
        };
        let htu = self
            .request_uri(request)
            .ok_or_else(|| self.invalid_proof("The request URI could not be determined"))?;
        let proof = proof::verify(
            proof_text,
            &Expected {
                algorithms: &self.settings.algorithms,
                keys: &self.proof_keys,
                method: request.method.as_deref().unwrap_or(""),
                htu: &htu,
                token_sha256,
                now_seconds: now.millis() / 1000.0,
                iat_offset: self.settings.iat_offset,
                iat_leeway: self.settings.iat_leeway,
            },
        )
        .map_err(|message| self.invalid_proof(message))?;
        if let Some(nonces) = &self.nonces {
            let fresh = proof
                .nonce
                .as_deref()
                .is_some_and(|nonce| nonces.accepts(nonce, now.seconds()));
            if !fresh {
                return Err(Error::Dpop(Box::new(Refusal {
                    message: Cow::Borrowed(if proof.nonce.is_some() {
                        "The DPoP proof nonce is not valid or has expired"
                    } else {
                        "The DPoP proof must carry a server nonce"
                    }),
                    code: TokenErrorCode::UseDpopNonce,
                    status: 401,
                    challenge: self.challenge("use_dpop_nonce"),
                    nonce: Some(nonces.issue(now.seconds())),
                })));
            }
        }
        constant_time::verify_slices_are_equal(proof.thumbprint.as_bytes(), jkt.as_bytes())
            .map_err(|_| {
                self.binding_mismatch(
                    "The DPoP proof key does not match the access token's binding",
                )
            })?;
        let window = self.settings.iat_offset + self.settings.iat_leeway;
        Ok(Some(Ticket {
            key: replay_key(&proof.thumbprint, &proof.jti),
            expires_ms: (proof.iat + window) * 1000.0,
        }))
    }

    /// The request's URI as the proof must name it: the configured public URL and the request
    /// path, or the URL the framework built from its trusted sources.
    fn request_uri(&self, request: &Request) -> Option<String> {
        let url = request.url.as_deref()?;
        match &self.settings.public_url {
            Some(base) => htu::normalise(&format!("{base}{}", htu::request_path(url))),
            None => htu::normalise(url),
        }
    }

    fn replayed(&self) -> Error {
        self.invalid_proof("The DPoP proof has been used before")
    }

    /// Reserves the ticket without waiting; `None` when the store must be awaited.
    pub fn reserve_now(&self, ticket: Ticket, now: Now) -> Option<Result<()>> {
        let free = self
            .replay
            .reserve_now(ticket.key, ticket.expires_ms, now)?;
        Some(if free { Ok(()) } else { Err(self.replayed()) })
    }

    pub async fn reserve(&self, ticket: Ticket, now: Now) -> Result<()> {
        if self
            .replay
            .reserve(ticket.key, ticket.expires_ms, now)
            .await?
        {
            Ok(())
        } else {
            Err(self.replayed())
        }
    }
}

/// The thumbprint of the key a token is bound to (`cnf.jkt`), none, or why its `cnf.jkt` cannot
/// be one.
pub type BoundKey<'a> = std::result::Result<Option<&'a str>, &'static str>;

/// A `BoundKey` kept beyond the claims it was read from (a verified-token cache entry).
pub type KeptBoundKey = std::result::Result<Option<Box<str>>, &'static str>;

/// The key a token is bound to (`cnf.jkt`), if any. Other `cnf` members (a certificate
/// binding) may stand beside it. An introspection answer that says the token is of another
/// type than DPoP cannot be DPoP-bound.
pub fn bound_key(claims: &Map<String, Value>, introspected: bool) -> BoundKey<'_> {
    let Some(Value::Object(cnf)) = claims.get("cnf") else {
        return Ok(None);
    };
    let Some(jkt) = cnf.get("jkt") else {
        return Ok(None);
    };
    let jkt = jkt
        .as_str()
        .filter(|jkt| !jkt.is_empty())
        .ok_or("The access token's cnf.jkt is not a thumbprint")?;
    if introspected
        && let Some(token_type) = claims.get("token_type")
        && !token_type
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("DPoP"))
    {
        return Err("The introspected token is bound to a DPoP key but is not of type DPoP");
    }
    Ok(Some(jkt))
}
