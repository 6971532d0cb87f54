//! Callers of a production-mode server, as the tests play them: the holder of a
//! bearer credential, a buyer with a signed token, a freshly made API key; and the
//! server's manual clock.

use jsonwebtoken::{encode, EncodingKey, Header};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Api, Env, Server};

/// A server of `env` in production mode with this master key and buyer-token
/// secret, and any `extra` arguments.
pub async fn start_in_production(
    env: &Env,
    master: &str,
    jwt_secret: &str,
    extra: &[&str],
) -> Server {
    let mut args = vec![
        "--env",
        "production",
        "--master-key",
        master,
        "--jwt-secret",
        jwt_secret,
    ];
    args.extend_from_slice(extra);
    env.start_with(&args).await
}

/// The API as the holder of `bearer` sees it.
pub fn as_holder(server: &Api, bearer: &str) -> Api {
    let mut headers = HeaderMap::new();
    headers.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {bearer}")).unwrap(),
    );
    Api {
        base: server.base.clone(),
        client: reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap(),
    }
}

/// The API as buyer `subject` sees it, with a valid token signed (HS256) with
/// `jwt_secret` for the default audience, good for an hour.
pub fn buyer(server: &Api, jwt_secret: &str, subject: &str) -> Api {
    let claims = json!({
        "sub": subject,
        "aud": "commerce",
        "exp": chrono::Utc::now().timestamp() + 3600,
    });
    let token = encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(jwt_secret.as_bytes()),
    )
    .unwrap();
    as_holder(server, &token)
}

/// The API as the holder of a new key with `scopes` sees it (`master` makes it).
pub async fn key(master: &Api, name: &str, scopes: &[&str]) -> Api {
    let created = master
        .post("/v1/keys", &json!({"name": name, "scopes": scopes}))
        .await
        .expect(StatusCode::CREATED);
    as_holder(master, created["key"].as_str().unwrap())
}

/// Move the server's manual clock by `seconds` (`admin` may); its time after, in unix
/// seconds.
pub async fn advance(admin: &Api, seconds: i64) -> i64 {
    let clock = admin
        .post("/v1/admin/clock/advance", &json!({ "seconds": seconds }))
        .await
        .expect(StatusCode::OK);
    clock["now"]
        .as_str()
        .and_then(|now| now.parse::<chrono::DateTime<chrono::Utc>>().ok())
        .unwrap_or_else(|| panic!("a time in {clock}"))
        .timestamp()
}
