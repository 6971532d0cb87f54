//! A delivery quote as a signed token: the fee and everything it was priced from,
//! sealed with an HMAC under a server secret. Quoting is then a read (nothing is
//! written until an order uses the quote), any node holding the secret can check a
//! quote another node issued, and a buyer cannot change a fee, a cell or an expiry
//! without the seal failing.
//!
//! The token is `v1.<payload>.<seal>`: the terms as JSON, then HMAC-SHA256 over
//! `v1.<payload>`, both base64url without padding. Secrets rotate: the first one
//! seals, every one listed opens (so quotes issued just before a rotation stay good
//! until they expire).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use event_schemas::order::{ChargedMultiplier, ChargedRule};
use event_schemas::values::GeoPoint;
use event_schemas::{Money, QuotedDelivery};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::fee::{Binding, Multiplier};

/// The token format's tag, sealed with the payload.
const VERSION: &str = "v1";
/// No token longer than this is decoded: a quote's terms fit easily, and a caller
/// cannot make the server parse megabytes.
pub const MAX_TOKEN_LEN: usize = 4_096;

/// What a quote promises, and what it was priced from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuoteTerms {
    /// The fee in the currency's minor units; it never changes after the quote.
    pub fee: u64,
    pub currency: String,
    /// Base fee plus distance, before any multiplier.
    pub base: u64,
    pub multipliers: Vec<Multiplier>,
    /// The rules that bound the result.
    pub bindings: Vec<Binding>,
    pub pickup: GeoPoint,
    /// The warehouse the goods leave from; an order using the quote ships from it.
    pub pickup_warehouse: String,
    /// The zone (H3 cell) the order must deliver to.
    pub dropoff_cell: String,
    /// The buyer it was quoted for; `None` for a quote asked by a shop's key.
    pub buyer: Option<String>,
    /// Who asked (the principal's actor): a quote without a buyer serves only orders
    /// that caller places.
    #[serde(default)]
    pub asked_by: String,
    /// The goods' value it was priced for (free delivery depends on it): an order
    /// using it must be worth at least this.
    #[serde(default)]
    pub order_value: u64,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The log position the price was read at: which emergency it obeyed.
    pub priced_at_position: i64,
}

/// Why a token is not an honourable quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QuoteProblem {
    #[error("the quote id is not a quote")]
    Malformed,
    #[error("the quote id was not issued by this service or was changed")]
    Forged,
    #[error("the quote has expired")]
    Expired,
    #[error("the quote prices a later moment and cannot be used before it")]
    NotYetValid,
    #[error("the quote was asked for by another caller")]
    OtherCaller,
    #[error("the quote was made for another buyer")]
    OtherBuyer,
    #[error("the order delivers outside the quote's dropoff zone")]
    OtherCell,
    #[error("the order is in another currency than the quote")]
    OtherCurrency,
}

impl QuoteProblem {
    /// The refusal an order using such a quote gets (422, with its code).
    pub fn refusal(&self) -> crate::Refusal {
        use crate::Refusal;
        match self {
            QuoteProblem::Malformed => Refusal::QuoteMalformed,
            QuoteProblem::Forged => Refusal::QuoteForged,
            QuoteProblem::Expired => Refusal::QuoteExpired,
            QuoteProblem::NotYetValid => Refusal::QuoteNotYetValid,
            QuoteProblem::OtherCaller => Refusal::QuoteOtherCaller,
            QuoteProblem::OtherBuyer => Refusal::QuoteOtherBuyer,
            QuoteProblem::OtherCell => Refusal::QuoteOtherCell,
            QuoteProblem::OtherCurrency => Refusal::QuoteOtherCurrency,
        }
    }

    /// The machine-readable code a caller sees.
    pub fn code(&self) -> &'static str {
        self.refusal().code()
    }
}

impl From<QuoteProblem> for crate::DomainError {
    fn from(problem: QuoteProblem) -> Self {
        crate::DomainError::new(
            crate::ErrorKind::Invalid,
            problem.refusal(),
            problem.to_string(),
        )
    }
}

/// What an order using a quote says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderFacts<'a> {
    pub dropoff_cell: &'a str,
    /// `None` before the order is priced: the Order aggregate checks the currency
    /// when it places the order (`quote_other_currency`).
    pub currency: Option<&'a str>,
    /// The buyer placing it, when a buyer's token places it.
    pub buyer: Option<&'a str>,
    /// Who places it (the principal's actor).
    pub actor: &'a str,
}

impl QuoteTerms {
    /// Seal the terms under `secret`.
    pub fn seal(&self, secret: &[u8]) -> String {
        let payload =
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("quote terms serialise"));
        let signed = format!("{VERSION}.{payload}");
        let seal = URL_SAFE_NO_PAD.encode(mac(secret, &signed).finalize().into_bytes());
        format!("{signed}.{seal}")
    }

    /// Open a token sealed under any of `secrets` and still valid at `now`.
    pub fn open(token: &str, secrets: &[&[u8]], now: DateTime<Utc>) -> Result<Self, QuoteProblem> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(QuoteProblem::Malformed);
        }
        let (signed, seal) = token.rsplit_once('.').ok_or(QuoteProblem::Malformed)?;
        let (version, payload) = signed.split_once('.').ok_or(QuoteProblem::Malformed)?;
        if version != VERSION {
            return Err(QuoteProblem::Malformed);
        }
        let seal = URL_SAFE_NO_PAD
            .decode(seal)
            .map_err(|_| QuoteProblem::Malformed)?;
        // Checked before the payload is parsed: nothing unsealed is ever read.
        let sealed_by_us = secrets
            .iter()
            .any(|secret| mac(secret, signed).verify_slice(&seal).is_ok());
        if !sealed_by_us {
            return Err(QuoteProblem::Forged);
        }
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| QuoteProblem::Malformed)?;
        let terms: QuoteTerms =
            serde_json::from_slice(&json).map_err(|_| QuoteProblem::Malformed)?;
        if now >= terms.expires_at {
            return Err(QuoteProblem::Expired);
        }
        // A quote for later prices that moment's conditions, not now's.
        if now + chrono::Duration::minutes(1) < terms.issued_at {
            return Err(QuoteProblem::NotYetValid);
        }
        Ok(terms)
    }

    /// Whether an order may use this quote: the same buyer (a shop's quote serves any
    /// order of the shop's key), the dropoff's zone, the currency.
    pub fn honours(&self, order: &OrderFacts) -> Result<(), QuoteProblem> {
        match &self.buyer {
            Some(buyer) if order.buyer != Some(buyer.as_str()) => {
                return Err(QuoteProblem::OtherBuyer)
            }
            None if !self.asked_by.is_empty() && order.actor != self.asked_by => {
                return Err(QuoteProblem::OtherCaller)
            }
            _ => {}
        }
        if order.dropoff_cell != self.dropoff_cell {
            return Err(QuoteProblem::OtherCell);
        }
        if order
            .currency
            .is_some_and(|currency| currency != self.currency)
        {
            return Err(QuoteProblem::OtherCurrency);
        }
        Ok(())
    }

    /// The delivery an order using this quote is charged, as the log records it.
    pub fn charged(&self) -> QuotedDelivery {
        // The names are the ones the API and the quote carry (serde's).
        let name = |value: serde_json::Value| value.as_str().unwrap_or_default().to_string();
        QuotedDelivery {
            fee: Money {
                amount: i64::try_from(self.fee).unwrap_or(i64::MAX),
                currency: self.currency.clone(),
            },
            base: self.base,
            multipliers: self
                .multipliers
                .iter()
                .map(|m| ChargedMultiplier {
                    kind: name(serde_json::json!(m.kind)),
                    value: m.value,
                })
                .collect(),
            bindings: self
                .bindings
                .iter()
                .map(|b| ChargedRule {
                    rule: name(serde_json::json!(b.rule)),
                    before: b.before,
                    after: b.after,
                })
                .collect(),
            pickup_warehouse: self.pickup_warehouse.clone(),
            dropoff_cell: self.dropoff_cell.clone(),
            order_value: self.order_value,
            quoted_at: self.issued_at,
            expires_at: self.expires_at,
            priced_at_position: self.priced_at_position,
        }
    }
}

fn mac(secret: &[u8], signed: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(signed.as_bytes());
    mac
}
