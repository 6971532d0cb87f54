//! Who is calling, and may they.
//!
//! * `--env development` (the default) serves without credentials, and says so.
//! * `--env production` needs a master key and a credential on every route but
//!   `/health` and `/ready`: the master key, an API key (`ck_...`, scoped; only its
//!   SHA-256 is ever stored), or a buyer's JWT from the shop's own login (HS256 with a
//!   shared secret, or RS256/ES256 with a public key; `exp` and `aud` checked).
//!
//! Refusals are problem+json: 401 with `WWW-Authenticate` for a missing or bad
//! credential, 403 for one without the scope; neither says whether the resource
//! exists, and neither writes anything. Failed attempts are counted and limited per
//! client address; each key has its own request rate limit.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use commands::AppClock;
use governor::clock::{Clock as _, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use projections::api_keys::ApiKeys;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::problem::Problem;

mod jwt;

pub use jwt::JwtVerifier;

/// The payment webhook's secret in development mode when none is configured: what
/// the sandbox payment provider signs with.
pub const SANDBOX_WEBHOOK_SECRET: &str = "sandbox-webhook-secret";
/// Shortest master key accepted, in bytes.
pub const MIN_MASTER_KEY_LEN: usize = 16;
/// Shortest HS256 buyer-token secret accepted, in bytes (the size of the SHA-256
/// output, as RFC 7518 §3.2 asks).
pub const MIN_JWT_SECRET_LEN: usize = 32;
/// Addresses remembered before the ones no longer limited are forgotten.
const FORGET_ABOVE: usize = 10_000;
/// How long an address that failed too often is refused outright.
const FAILURE_BLOCK: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Environment {
    /// Open to anyone who can reach the port (what `make run` starts).
    Development,
    /// A credential on every route but /health and /ready.
    Production,
}

/// The caller, as authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// Development mode: nobody is asked who they are.
    Development,
    Master,
    Key {
        key_id: String,
        scopes: Vec<String>,
    },
    Buyer {
        subject: String,
    },
    /// A host of stays (a token with the `host` role): acts on its own listings.
    Host {
        subject: String,
    },
}

impl Principal {
    /// Who event metadata names as the actor; also the scope of idempotency keys.
    pub fn actor(&self) -> String {
        match self {
            Principal::Development => "development".into(),
            Principal::Master => "master".into(),
            Principal::Key { key_id, .. } => format!("key:{key_id}"),
            Principal::Buyer { subject } => domain::reservation::buyer_actor(subject),
            Principal::Host { subject } => format!("host:{subject}"),
        }
    }

    /// Whether this caller may see a resource that belongs to buyer `owner`: a buyer
    /// sees only their own (others' are answered as not found); everyone else all.
    pub fn sees(&self, owner: Option<&str>) -> bool {
        match self {
            Principal::Buyer { subject } => owner == Some(subject.as_str()),
            // A host sees its listings' stays, not buyers' resources.
            Principal::Host { .. } => false,
            _ => true,
        }
    }

    /// [`sees`](Self::sees) as an answer: a resource the caller may not see is, for
    /// them, not there (`what` names it).
    pub fn must_see(&self, owner: Option<&str>, what: &str) -> Result<(), Problem> {
        if self.sees(owner) {
            Ok(())
        } else {
            Err(Problem::not_found(format!("there is no such {what}")))
        }
    }

    fn may(&self, requirement: Requirement) -> bool {
        match (self, requirement) {
            (_, Requirement::Public) => true,
            (Principal::Development | Principal::Master, _) => true,
            (_, Requirement::Master) => false,
            (_, Requirement::Authenticated) => true,
            (
                Principal::Key { scopes, .. },
                Requirement::Scope(scope) | Requirement::Buyer(scope) | Requirement::Host(scope),
            ) => scopes.iter().any(|s| s == scope),
            // Buyers act only on routes that act for a buyer, hosts on routes that
            // act for a host.
            (Principal::Buyer { .. }, Requirement::Buyer(_)) => true,
            (Principal::Host { .. }, Requirement::Host(_)) => true,
            (Principal::Buyer { .. } | Principal::Host { .. }, _) => false,
        }
    }
}

/// What a route asks of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    Public,
    /// Any valid credential.
    Authenticated,
    Scope(&'static str),
    /// A route that acts for a buyer: the buyer's own token, or a key with the scope.
    Buyer(&'static str),
    /// A route that acts for a host of stays: the host's own token (the `host` role),
    /// or a key with the scope acting for any host.
    Host(&'static str),
    Master,
}

/// Authentication settings and state of one process.
pub struct Auth {
    pub environment: Environment,
    master_key_sha256: Option<[u8; 32]>,
    /// Derives the secrets of keys created with an Idempotency-Key (so a retry can
    /// show the same secret without it being stored anywhere): from the master key.
    key_secret_root: [u8; 32],
    jwt: Option<JwtVerifier>,
    pub keys: Arc<ApiKeys>,
    clock: AppClock,
    per_key: Option<DefaultKeyedRateLimiter<String>>,
    per_buyer: Option<DefaultKeyedRateLimiter<String>>,
    failures: DefaultKeyedRateLimiter<IpAddr, StateInformationMiddleware>,
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    /// Secret of the payment webhook's signatures; development mode has a sandbox one.
    pub payment_webhook_secret: Option<Vec<u8>>,
    /// Proxies whose `X-Forwarded-For` names the client.
    trusted_proxies: crate::client_address::TrustedProxies,
    /// Whether the webhook still takes the legacy `sha256=<hex>` signature (no
    /// timestamp, so replayable forever): for one release, behind a flag.
    pub accept_legacy_webhook_signatures: bool,
    /// The console's session cookies and CSRF tokens.
    pub console: crate::console::session::Sessions,
}

pub struct AuthSettings {
    pub environment: Environment,
    pub master_key: Option<String>,
    pub jwt: Option<JwtVerifier>,
    /// Requests per second one API key may make (0: unlimited).
    pub key_rate_limit: u32,
    /// Requests per second one buyer may make (0: unlimited).
    pub buyer_rate_limit: u32,
    /// Failed authentications per minute one address may make before it is refused.
    pub failures_per_minute: u32,
    /// Secret the payment provider signs its webhooks with (HMAC-SHA256).
    pub payment_webhook_secret: Option<String>,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: crate::client_address::TrustedProxies,
    /// Also accept the legacy `Payment-Signature: sha256=<hex>` form.
    pub accept_legacy_webhook_signatures: bool,
}

impl Auth {
    /// HMAC-SHA256 of `message` under the root of derived key secrets.
    pub fn derive_key_secret(&self, message: &[u8]) -> [u8; 32] {
        hmac_sha256(&self.key_secret_root, message)
    }

    pub fn new(
        settings: AuthSettings,
        keys: Arc<ApiKeys>,
        clock: AppClock,
    ) -> anyhow::Result<Self> {
        let key_secret_root = sha256(
            format!(
                "commerce api key secrets\0{}",
                settings.master_key.as_deref().unwrap_or("development")
            )
            .as_bytes(),
        );
        let master_key_sha256 = match (&settings.environment, settings.master_key) {
            (_, Some(key)) if key.starts_with("ck_") => {
                anyhow::bail!("the master key must not start with ck_, which marks API keys")
            }
            (_, Some(key)) if key.len() >= MIN_MASTER_KEY_LEN => Some(sha256(key.as_bytes())),
            (_, Some(_)) => anyhow::bail!("the master key must be at least {MIN_MASTER_KEY_LEN} bytes"),
            (Environment::Production, None) => anyhow::bail!(
                "--env production needs a master key (--master-key or COMMERCE_MASTER_KEY, at least {MIN_MASTER_KEY_LEN} bytes)"
            ),
            (Environment::Development, None) => None,
        };
        let per_key = NonZeroU32::new(settings.key_rate_limit)
            .map(|rate| RateLimiter::keyed(Quota::per_second(rate)));
        let per_buyer = NonZeroU32::new(settings.buyer_rate_limit)
            .map(|rate| RateLimiter::keyed(Quota::per_second(rate)));
        let failures = RateLimiter::keyed(Quota::per_minute(
            NonZeroU32::new(settings.failures_per_minute.max(1)).expect("at least one"),
        ))
        .with_middleware::<StateInformationMiddleware>();
        if settings.accept_legacy_webhook_signatures {
            tracing::warn!(
                "the payment webhook accepts legacy `Payment-Signature: sha256=<hex>` signatures, which carry no time and can be replayed; \
                 drop --accept-legacy-webhook-signatures once the provider signs t=<unix seconds>,v1=<hex>"
            );
        }
        // Sessions made on one node are good on every node that shares the master
        // key; without one (development) a per-process secret.
        let console_secret = match master_key_sha256 {
            Some(_) => hmac_sha256(&key_secret_root, b"console sessions"),
            None => {
                let mut secret = [0u8; 32];
                getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
                secret
            }
        };
        Ok(Self {
            console: crate::console::session::Sessions::new(
                console_secret,
                settings.environment == Environment::Production,
            ),
            environment: settings.environment,
            master_key_sha256,
            key_secret_root,
            jwt: settings.jwt,
            keys,
            clock,
            per_key,
            per_buyer,
            failures,
            blocked: Default::default(),
            trusted_proxies: settings.trusted_proxies,
            payment_webhook_secret: settings
                .payment_webhook_secret
                .map(String::into_bytes)
                .or_else(|| {
                    (settings.environment == Environment::Development)
                        .then(|| SANDBOX_WEBHOOK_SECRET.as_bytes().to_vec())
                }),
            accept_legacy_webhook_signatures: settings.accept_legacy_webhook_signatures,
        })
    }

    /// Who presents `bearer`, or why not.
    fn authenticate(&self, bearer: &str) -> Result<Principal, &'static str> {
        if bearer.starts_with("ck_") {
            let digest = sha256(bearer.as_bytes());
            let key = self.keys.find(&digest).ok_or("unknown_key")?;
            // The map lookup found it by digest; compare in constant time all the same.
            if !bool::from(key.sha256.ct_eq(&digest)) {
                return Err("unknown_key");
            }
            return self.live_key(key);
        }
        if let Some(master) = &self.master_key_sha256 {
            if bool::from(sha256(bearer.as_bytes()).ct_eq(master)) {
                return Ok(Principal::Master);
            }
        }
        match &self.jwt {
            Some(jwt) if bearer.matches('.').count() == 2 => {
                jwt.principal(bearer).map_err(|_| "invalid_token")
            }
            _ => Err("invalid_credential"),
        }
    }

    /// The principal of an API key, unless it was revoked or has expired.
    fn live_key(&self, key: projections::api_keys::KeyRecord) -> Result<Principal, &'static str> {
        if key.revoked {
            return Err("revoked_key");
        }
        if key.expires_at.is_some_and(|at| at <= self.clock.now()) {
            return Err("expired_key");
        }
        Ok(Principal::Key {
            key_id: key.key_id,
            scopes: key.scopes,
        })
    }

    /// Who may sign in to the console with `key`: the master key, or an API key
    /// with the `admin` scope.
    pub fn console_subject(
        &self,
        key: &str,
    ) -> Result<crate::console::session::Subject, &'static str> {
        use crate::console::session::Subject;
        match self.authenticate(key.trim())? {
            Principal::Master => Ok(Subject::Master),
            Principal::Key { key_id, scopes } if scopes.iter().any(|s| s == "admin") => {
                Ok(Subject::Key(key_id))
            }
            _ => Err("not_an_admin_key"),
        }
    }

    /// The caller a console session stands for, while its key still may sign in.
    fn console_principal(&self, cookie: &str) -> Option<Principal> {
        use crate::console::session::Subject;
        match self.console.verify(cookie, chrono::Utc::now())? {
            Subject::Master => self.master_key_sha256.map(|_| Principal::Master),
            Subject::Key(key_id) => self
                .live_key(self.keys.get(&key_id)?)
                .ok()
                .filter(|principal| principal.may(Requirement::Scope("admin"))),
        }
    }

    pub(crate) fn is_blocked(&self, address: IpAddr) -> bool {
        let mut blocked = self.blocked.lock().expect("block list poisoned");
        match blocked.get(&address) {
            Some(until) if *until > Instant::now() => true,
            Some(_) => {
                blocked.remove(&address);
                false
            }
            None => false,
        }
    }

    /// Count a failed attempt; true when the address had already used up its
    /// allowance (the attempt is answered 429, not 401).
    ///
    /// The attempt that uses up the allowance blocks the address, so whatever it
    /// presents next is refused: with N failures a minute allowed, N credentials are
    /// tried, not N + 1.
    pub(crate) fn failed(&self, address: IpAddr, reason: &'static str) -> bool {
        metrics::counter!("auth_failures_total", "reason" => reason).increment(1);
        let (block, over) = match self.failures.check_key(&address) {
            Ok(state) => (state.remaining_burst_capacity() == 0, false),
            Err(_) => (true, true),
        };
        if block {
            let mut blocked = self.blocked.lock().expect("block list poisoned");
            let now = Instant::now();
            // Many addresses failing must not grow these tables without bound.
            if blocked.len() >= FORGET_ABOVE {
                blocked.retain(|_, until| *until > now);
            }
            blocked.insert(address, now + FAILURE_BLOCK);
        }
        if self.failures.len() >= FORGET_ABOVE {
            self.failures.retain_recent();
        }
        over
    }

    /// Seconds until the key or buyer may call again, if it is over its rate.
    fn over_rate(&self, principal: &Principal) -> Option<u64> {
        let (limiter, who) = match principal {
            Principal::Key { key_id, .. } => (self.per_key.as_ref()?, key_id),
            // Hosts are limited as buyers are: a token per person.
            Principal::Buyer { subject } | Principal::Host { subject } => {
                (self.per_buyer.as_ref()?, subject)
            }
            _ => return None,
        };
        // Every buyer that ever called must not stay in the table.
        if limiter.len() >= FORGET_ABOVE {
            limiter.retain_recent();
        }
        limiter.check_key(who).err().map(|not_until| {
            not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1)
        })
    }
}

/// Whose profile (history) a request may read: for personalised search and
/// recommendations. A profile tells what its shopper looked at
/// and bought, so only that buyer's own token, a key that acts for buyers
/// (`buyers:act`), the master key or development mode may name one. A buyer's token
/// that names nobody is personalised as its buyer, as their orders are theirs.
pub fn profile_owner(
    principal: &Principal,
    named: Option<String>,
) -> Result<Option<String>, Problem> {
    let refuse = |detail: &str| Problem::new(StatusCode::FORBIDDEN, "not_your_profile", detail);
    match principal {
        Principal::Buyer { subject } => match named {
            Some(other) if other != *subject => Err(refuse(
                "a buyer's token may personalise only for that buyer",
            )),
            _ => Ok(Some(subject.clone())),
        },
        Principal::Key { scopes, .. }
            if named.is_some() && !scopes.iter().any(|s| s == "buyers:act") =>
        {
            Err(refuse(
                "personalising for a shopper needs the 'buyers:act' scope",
            ))
        }
        Principal::Host { .. } => Err(refuse("a host's token does not act for shoppers")),
        Principal::Key { .. } | Principal::Master | Principal::Development => Ok(named),
    }
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn unauthorized(code: &'static str, detail: &str) -> Response {
    let mut response = Problem::new(StatusCode::UNAUTHORIZED, code, detail).into_response();
    let challenge = if code == "missing_credential" {
        r#"Bearer realm="commerce""#
    } else {
        r#"Bearer realm="commerce", error="invalid_token""#
    };
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

fn too_many_failures() -> Response {
    Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_failed_attempts",
        "too many failed authentication attempts from this address; try again later",
    )
    .retry_after(FAILURE_BLOCK.as_secs())
    .into_response()
}

/// The middleware in front of every route: authenticate, check the route's
/// requirement, and hand the handlers the [`Principal`].
pub async fn authorize(
    State((auth, requirements)): State<(Arc<Auth>, Arc<crate::routes::table::Requirements>)>,
    mut request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    let required = requirements.of_request(request.method(), route.as_deref());
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let client = auth.trusted_proxies.client(peer, request.headers());
    request.extensions_mut().insert(client);
    let address = client.0;
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            // The scheme name is case-insensitive (RFC 9110 §11.1).
            let (scheme, credential) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(credential)
        })
        .map(str::trim)
        .map(str::to_string);

    // The console's pages and stream also take a session cookie (a browser sends no
    // bearer key); nothing else does, so no other route can be driven cross-site.
    let session_route = requirements.takes_session(request.method(), route.as_deref());
    if session_route {
        let cookie = (bearer.is_none())
            .then(|| crate::console::session::cookie_of(request.headers()).map(str::to_string))
            .flatten();
        let session = match (auth.environment, &cookie) {
            (Environment::Production, Some(cookie)) => auth.console_principal(cookie),
            _ => None,
        };
        let context = crate::console::session::ConsoleContext {
            csrf: bearer.is_none().then(|| {
                auth.console
                    .csrf_token(session.as_ref().and(cookie.as_deref()))
            }),
            signed_in: session.is_some(),
        };
        request.extensions_mut().insert(context);
        if let Some(principal) = session {
            return finish(&auth, required, principal, request, next).await;
        }
        if auth.environment == Environment::Production
            && bearer.is_none()
            && required != Requirement::Public
            && request.method() == axum::http::Method::GET
            && route.as_deref().is_some_and(|r| r.starts_with("/console"))
        {
            // A page: the sign-in form, not a problem document.
            return axum::response::Redirect::to("/console/sign-in").into_response();
        }
    }

    let principal = match (auth.environment, bearer) {
        (Environment::Development, _) => Principal::Development,
        (Environment::Production, _) if required == Requirement::Public => Principal::Development,
        (Environment::Production, None) => {
            return unauthorized(
                "missing_credential",
                "this route needs a credential: Authorization: Bearer <key or token>",
            );
        }
        (Environment::Production, Some(bearer)) => {
            // A valid credential is never refused by the failed-attempt block: an
            // attacker sharing an address (a proxy, a NAT) must not lock others out.
            match auth.authenticate(&bearer) {
                Ok(principal) => principal,
                Err(reason) => {
                    if auth.is_blocked(address) || auth.failed(address, reason) {
                        return too_many_failures();
                    }
                    return unauthorized(
                        reason,
                        "the credential is not valid (unknown, revoked, expired or malformed)",
                    );
                }
            }
        }
    };
    finish(&auth, required, principal, request, next).await
}

/// Check an authenticated caller against the route, then serve it.
async fn finish(
    auth: &Auth,
    required: Requirement,
    principal: Principal,
    mut request: Request,
    next: Next,
) -> Response {
    if !principal.may(required) {
        metrics::counter!("auth_failures_total", "reason" => "forbidden").increment(1);
        let needed = match required {
            Requirement::Scope(scope) => format!("this route needs the '{scope}' scope"),
            Requirement::Buyer(scope) => {
                format!("this route needs a buyer token or the '{scope}' scope")
            }
            Requirement::Host(scope) => {
                format!("this route needs a host token or the '{scope}' scope")
            }
            Requirement::Master => "this route needs the master key".to_string(),
            _ => "this credential may not call this route".to_string(),
        };
        return Problem::new(StatusCode::FORBIDDEN, "forbidden", needed).into_response();
    }
    if let Some(seconds) = auth.over_rate(&principal) {
        return Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "this credential is over its request rate",
        )
        .retry_after(seconds)
        .into_response();
    }
    request.extensions_mut().insert(principal);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde::Serialize;

    const SECRET: &[u8] = b"the-shop-signs-buyer-tokens-with-this";
    const OTHER_SECRET: &[u8] = b"another-shop-signs-its-tokens-with-this";

    #[derive(Serialize)]
    struct Claims<'a> {
        sub: &'a str,
        aud: &'a str,
        exp: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        iss: Option<&'a str>,
    }

    fn token_from(secret: &[u8], aud: &str, exp_in: i64, iss: Option<&str>) -> String {
        let claims = Claims {
            sub: "buyer-1",
            aud,
            exp: chrono::Utc::now().timestamp() + exp_in,
            iss,
        };
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret),
        )
        .unwrap()
    }

    fn token(secret: &[u8], aud: &str, exp_in: i64) -> String {
        token_from(secret, aud, exp_in, None)
    }

    #[test]
    fn a_buyer_token_names_its_subject_when_signature_audience_and_expiry_hold() {
        let jwt = JwtVerifier::hs256(SECRET, "commerce").unwrap();
        assert_eq!(
            jwt.verify(&token(SECRET, "commerce", 3600)),
            Ok("buyer-1".into())
        );
        assert!(
            jwt.verify(&token(SECRET, "commerce", -10)).is_err(),
            "expired"
        );
        assert!(
            jwt.verify(&token(SECRET, "elsewhere", 3600)).is_err(),
            "wrong audience"
        );
        assert!(
            jwt.verify(&token(OTHER_SECRET, "commerce", 3600)).is_err(),
            "wrong signature"
        );
        assert!(jwt.verify("not.a.token").is_err());
        // Without an issuer configured, whatever `iss` a token carries is not checked.
        assert_eq!(
            jwt.verify(&token_from(SECRET, "commerce", 3600, Some("anyone"))),
            Ok("buyer-1".into())
        );
    }

    #[test]
    fn hs256_secrets_shorter_than_32_bytes_are_refused() {
        let error = JwtVerifier::hs256(&[b'x'; 31], "commerce")
            .err()
            .expect("31 bytes are refused")
            .to_string();
        assert!(error.contains("at least 32 bytes"), "{error}");
        assert!(error.contains("--jwt-secret"), "{error}");
        assert!(JwtVerifier::hs256(b"", "commerce").is_err());
        assert!(JwtVerifier::hs256(&[b'x'; 32], "commerce").is_ok());
    }

    #[test]
    fn with_an_issuer_tokens_must_carry_it() {
        let jwt = JwtVerifier::hs256(SECRET, "commerce")
            .unwrap()
            .with_issuer("https://shop.example")
            .unwrap();
        assert_eq!(
            jwt.verify(&token_from(
                SECRET,
                "commerce",
                3600,
                Some("https://shop.example")
            )),
            Ok("buyer-1".into())
        );
        assert!(
            jwt.verify(&token(SECRET, "commerce", 3600)).is_err(),
            "no iss"
        );
        assert!(
            jwt.verify(&token_from(
                SECRET,
                "commerce",
                3600,
                Some("https://evil.example")
            ))
            .is_err(),
            "wrong iss"
        );
        assert!(JwtVerifier::hs256(SECRET, "commerce")
            .unwrap()
            .with_issuer(" ")
            .is_err());
    }

    #[test]
    fn a_key_may_do_what_its_scopes_say_and_a_buyer_nothing_scoped() {
        let key = Principal::Key {
            key_id: "k".into(),
            scopes: vec!["read".into()],
        };
        assert!(key.may(Requirement::Scope("read")));
        assert!(!key.may(Requirement::Scope("stock:write")));
        assert!(!key.may(Requirement::Master));
        assert!(key.may(Requirement::Authenticated));
        let buyer = Principal::Buyer {
            subject: "b".into(),
        };
        assert!(!buyer.may(Requirement::Scope("read")));
        assert!(buyer.may(Requirement::Authenticated));
        assert!(Principal::Master.may(Requirement::Master));
        assert_eq!(key.actor(), "key:k");
        assert_eq!(buyer.actor(), "buyer:b");
    }
}
