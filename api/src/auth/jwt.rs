//! Buyer tokens: the shop's own login signs them (HS256 with a shared secret, or
//! RS256/ES256 with a public key); `exp` and `aud` are checked.

use super::*;

/// How buyer tokens are checked.
pub struct JwtVerifier {
    key: DecodingKey,
    validation: Validation,
}

#[derive(Debug, Deserialize)]
pub(super) struct BuyerClaims {
    sub: String,
    /// `host` for a host of stays (who may change only its own listings); anything
    /// else, or none, is a buyer.
    /// Any JSON: identity providers also send arrays and objects here, which make
    /// a buyer, as no role at all does.
    #[serde(default)]
    role: Option<serde_json::Value>,
}

impl JwtVerifier {
    /// HS256 with a shared secret of at least [`MIN_JWT_SECRET_LEN`] bytes.
    pub fn hs256(secret: &[u8], audience: &str) -> anyhow::Result<Self> {
        if secret.len() < MIN_JWT_SECRET_LEN {
            anyhow::bail!(
                "the HS256 buyer-token secret (--jwt-secret or COMMERCE_JWT_SECRET) must be at least {MIN_JWT_SECRET_LEN} bytes, and this one is {}; use a random one, e.g. `head -c 32 /dev/urandom | base64`",
                secret.len()
            );
        }
        Ok(Self::new(
            DecodingKey::from_secret(secret),
            Algorithm::HS256,
            audience,
        ))
    }

    /// RS256 or ES256, from a PEM public key.
    pub fn from_public_pem(pem: &[u8], audience: &str) -> anyhow::Result<Self> {
        if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
            return Ok(Self::new(key, Algorithm::RS256, audience));
        }
        let key = DecodingKey::from_ec_pem(pem).map_err(|e| {
            anyhow::anyhow!("the JWT public key is neither an RSA nor an EC PEM key: {e}")
        })?;
        Ok(Self::new(key, Algorithm::ES256, audience))
    }

    fn new(key: DecodingKey, algorithm: Algorithm, audience: &str) -> Self {
        let mut validation = Validation::new(algorithm);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "aud", "sub"]);
        validation.leeway = 0;
        Self { key, validation }
    }

    /// Tokens must also carry `iss` equal to `issuer` (without this, `iss` is not
    /// checked).
    pub fn with_issuer(mut self, issuer: &str) -> anyhow::Result<Self> {
        if issuer.trim().is_empty() {
            anyhow::bail!(
                "the buyer-token issuer (--jwt-issuer or COMMERCE_JWT_ISSUER) must not be empty"
            );
        }
        self.validation.set_issuer(&[issuer]);
        self.validation
            .set_required_spec_claims(&["exp", "aud", "sub", "iss"]);
        Ok(self)
    }

    /// The token's subject, if it is valid.
    #[cfg(test)]
    pub(super) fn verify(&self, token: &str) -> Result<String, String> {
        self.principal(token).map(|principal| match principal {
            Principal::Buyer { subject } | Principal::Host { subject } => subject,
            _ => unreachable!("tokens name buyers and hosts only"),
        })
    }

    /// The buyer or host a valid token names (a host by its `role` claim).
    pub(super) fn principal(&self, token: &str) -> Result<Principal, String> {
        let claims = jsonwebtoken::decode::<BuyerClaims>(token, &self.key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| e.to_string())?;
        Ok(match claims.role.as_ref().and_then(|role| role.as_str()) {
            Some("host") => Principal::Host {
                subject: claims.sub,
            },
            _ => Principal::Buyer {
                subject: claims.sub,
            },
        })
    }
}
