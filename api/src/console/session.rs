//! Signing in to the console: a browser cannot send a bearer key on a page load or
//! an `EventSource`, so an operator trades an `admin` key (or the master key) for a
//! session cookie, and every form that changes something carries a CSRF token.
//!
//! The cookie is `v1.<subject>.<expires>.<mac>`: who signed in (`master` or the API
//! key's id), until when (Unix seconds), and an HMAC-SHA256 of both under a secret
//! derived from the master key, so every node of a cluster accepts it and nothing is
//! stored. It is HttpOnly, SameSite=Strict and, in production, Secure. Each request
//! looks the key up again: revoking the key (or its expiry) ends its sessions at
//! once. The CSRF token is an HMAC of the cookie (or, in development mode, where
//! nobody signs in, of a per-process secret): a page of another site can neither
//! read it nor make it.

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use subtle::ConstantTimeEq;

/// The cookie's name.
pub const COOKIE: &str = "commerce_console";
/// How long a session lasts.
pub const SESSION_HOURS: i64 = 8;

/// Who a session is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Master,
    Key(String),
}

/// What the console knows of the request: for the page (its forms' token, whether
/// to offer signing out) and for the forms' check.
#[derive(Debug, Clone)]
pub struct ConsoleContext {
    /// The token forms must carry; `None` when the caller authenticated with a
    /// bearer credential (a script, not a browser: nothing to forge).
    pub csrf: Option<String>,
    /// Whether the caller came with a session cookie.
    pub signed_in: bool,
}

impl ConsoleContext {
    /// Whether a form's token is the one this session's forms carry.
    pub fn accepts(&self, token: Option<&str>) -> bool {
        match (&self.csrf, token) {
            (None, _) => true,
            (Some(expected), Some(given)) => {
                bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
            }
            (Some(_), None) => false,
        }
    }

    /// The token to put in forms (empty for a bearer caller, who needs none).
    pub fn token(&self) -> &str {
        self.csrf.as_deref().unwrap_or("")
    }
}

/// Issues and checks session cookies and CSRF tokens.
pub struct Sessions {
    secret: [u8; 32],
    /// Mark cookies Secure (production: behind TLS).
    secure: bool,
}

impl Sessions {
    pub fn new(secret: [u8; 32], secure: bool) -> Self {
        Sessions { secret, secure }
    }

    fn mac(&self, purpose: &str, message: &str) -> String {
        let mut mac =
            Hmac::<sha2::Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(message.as_bytes());
        let bytes = mac.finalize().into_bytes();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A session cookie's value for `subject`, valid until `now` + [`SESSION_HOURS`].
    pub fn issue(&self, subject: &Subject, now: DateTime<Utc>) -> String {
        let who = match subject {
            Subject::Master => "master".to_string(),
            Subject::Key(id) => format!("key:{id}"),
        };
        let expires = (now + Duration::hours(SESSION_HOURS)).timestamp();
        let body = format!("v1.{who}.{expires}");
        let mac = self.mac("console session", &body);
        format!("{body}.{mac}")
    }

    /// Who a cookie's value is for, if it is one this secret made and has not expired.
    pub fn verify(&self, value: &str, now: DateTime<Utc>) -> Option<Subject> {
        if value.len() > 512 {
            return None;
        }
        let (body, mac) = value.rsplit_once('.')?;
        let expected = self.mac("console session", body);
        if !bool::from(expected.as_bytes().ct_eq(mac.as_bytes())) {
            return None;
        }
        let (who, expires) = body.strip_prefix("v1.")?.rsplit_once('.')?;
        if expires.parse::<i64>().ok()? <= now.timestamp() {
            return None;
        }
        match who {
            "master" => Some(Subject::Master),
            _ => Some(Subject::Key(who.strip_prefix("key:")?.to_string())),
        }
    }

    /// The CSRF token of a session (or of development mode, without one).
    pub fn csrf_token(&self, session: Option<&str>) -> String {
        let mut token = self.mac("console csrf", session.unwrap_or("development"));
        token.truncate(32);
        token
    }

    /// `Set-Cookie` for a new session.
    pub fn set_cookie(&self, value: &str) -> String {
        format!(
            "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
            SESSION_HOURS * 3600,
            if self.secure { "; Secure" } else { "" }
        )
    }

    /// `Set-Cookie` that ends the session in the browser.
    pub fn clear_cookie(&self) -> String {
        format!(
            "{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
            if self.secure { "; Secure" } else { "" }
        )
    }
}

/// The session cookie's value among a request's cookies.
pub fn cookie_of(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions() -> Sessions {
        Sessions::new([7; 32], true)
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn a_session_names_its_subject_until_it_expires() {
        let sessions = sessions();
        let cookie = sessions.issue(&Subject::Key("k-1".into()), now());
        assert_eq!(
            sessions.verify(&cookie, now()),
            Some(Subject::Key("k-1".into()))
        );
        let master = sessions.issue(&Subject::Master, now());
        assert_eq!(sessions.verify(&master, now()), Some(Subject::Master));
        let later = now() + Duration::hours(SESSION_HOURS);
        assert_eq!(sessions.verify(&cookie, later), None);
    }

    #[test]
    fn a_changed_or_foreign_cookie_is_refused() {
        let sessions = sessions();
        let cookie = sessions.issue(&Subject::Key("k-1".into()), now());
        let forged = cookie.replace("key:k-1", "master");
        assert_eq!(sessions.verify(&forged, now()), None);
        let expires = now().timestamp() + SESSION_HOURS * 3600;
        let longer = cookie.replacen(&expires.to_string(), "9999999999", 1);
        assert_ne!(longer, cookie);
        assert_eq!(sessions.verify(&longer, now()), None);
        let other = Sessions::new([8; 32], true).issue(&Subject::Master, now());
        assert_eq!(sessions.verify(&other, now()), None);
        assert_eq!(sessions.verify("v1.master", now()), None);
        assert_eq!(sessions.verify("", now()), None);
    }

    #[test]
    fn csrf_tokens_differ_by_session_and_a_bearer_caller_needs_none() {
        let sessions = sessions();
        let one = sessions.issue(&Subject::Master, now());
        let two = sessions.issue(&Subject::Key("k".into()), now());
        assert_ne!(
            sessions.csrf_token(Some(&one)),
            sessions.csrf_token(Some(&two))
        );
        let context = ConsoleContext {
            csrf: Some(sessions.csrf_token(Some(&one))),
            signed_in: true,
        };
        assert!(context.accepts(Some(&sessions.csrf_token(Some(&one)))));
        assert!(!context.accepts(Some(&sessions.csrf_token(Some(&two)))));
        assert!(!context.accepts(None));
        let bearer = ConsoleContext {
            csrf: None,
            signed_in: false,
        };
        assert!(bearer.accepts(None));
    }

    #[test]
    fn the_cookie_is_found_among_others_and_is_http_only_strict_and_secure() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            "a=1; commerce_console=v1.master.1.ab; b=2".parse().unwrap(),
        );
        assert_eq!(cookie_of(&headers), Some("v1.master.1.ab"));
        let set = sessions().set_cookie("x");
        for part in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
            assert!(set.contains(part), "{set}");
        }
    }
}
