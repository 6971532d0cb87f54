//! Queue-entry challenges: what a buyer must show before a purchase is even looked
//! at, so bots can be slowed without changing the purchase flow. A challenge is a
//! trait; proof of work is the one built in (a signed token from a CAPTCHA provider
//! would be another implementation of the same trait).

use axum::http::{HeaderMap, StatusCode};

use crate::problem::Problem;

/// The header a buyer answers a challenge in.
pub const CHALLENGE_HEADER: &str = "flash-challenge";

pub trait EntryChallenge: Send + Sync {
    /// `Ok` to go on; otherwise the problem that tells the buyer what to solve.
    fn check(&self, sale_id: &str, user_id: &str, headers: &HeaderMap) -> Result<(), Problem>;
}

/// No challenge (the default).
pub struct Open;

impl EntryChallenge for Open {
    fn check(&self, _: &str, _: &str, _: &HeaderMap) -> Result<(), Problem> {
        Ok(())
    }
}

/// Proof of work: `Flash-Challenge: <nonce>` such that SHA-256 of
/// `"{sale_id}:{user_id}:{nonce}"` starts with `bits` zero bits. Cheap to check,
/// about 2^bits hashes to find; each buyer's answer is theirs alone.
pub struct ProofOfWork {
    pub bits: u32,
}

/// Leading zero bits of a digest.
fn leading_zero_bits(digest: &[u8]) -> u32 {
    let mut bits = 0;
    for byte in digest {
        if *byte == 0 {
            bits += 8;
        } else {
            bits += byte.leading_zeros();
            break;
        }
    }
    bits
}

impl ProofOfWork {
    pub fn solves(&self, sale_id: &str, user_id: &str, nonce: &str) -> bool {
        let digest = crate::auth::sha256(format!("{sale_id}:{user_id}:{nonce}").as_bytes());
        leading_zero_bits(&digest) >= self.bits
    }

    /// Find a nonce (what a client does; used by tests and the bench).
    pub fn solve(&self, sale_id: &str, user_id: &str) -> String {
        (0u64..)
            .map(|n| n.to_string())
            .find(|nonce| self.solves(sale_id, user_id, nonce))
            .expect("some nonce solves it")
    }
}

impl EntryChallenge for ProofOfWork {
    fn check(&self, sale_id: &str, user_id: &str, headers: &HeaderMap) -> Result<(), Problem> {
        let nonce = headers
            .get(CHALLENGE_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 64);
        match nonce {
            Some(nonce) if self.solves(sale_id, user_id, nonce) => Ok(()),
            _ => Err(Problem::new(
                StatusCode::PRECONDITION_REQUIRED,
                "challenge_required",
                format!(
                    "send a Flash-Challenge header with a nonce such that SHA-256 of \
                     \"{sale_id}:{user_id}:<nonce>\" starts with {} zero bits",
                    self.bits
                ),
            )
            .with("challenge", "proof_of_work")
            .with("difficulty_bits", self.bits)
            .with("input", format!("{sale_id}:{user_id}:"))),
        }
    }
}
