//! Capability tokens: roles, minting, hashing.
//!
//! Why capability links instead of accounts: an Open Space is set up in an
//! afternoon and attended by people who will never make an account. The
//! organizer gets one token when creating the conference and hands out
//! `edit` and `read` links; a link *is* the permission. Therefore:
//!
//! - tokens are 256 random bits (base64url, 43 characters) from the OS RNG;
//! - only their SHA-256 is stored (`token/{sha256-hex}` in the store), so a
//!   copy of the data dir does not hand out access, and a token is shown
//!   exactly once, when it is minted;
//! - lookup is by hash; the stored hash is then compared to the presented
//!   one in constant time ([`subtle`]) as defence in depth;
//! - a token can be revoked; the hub then closes its open connections
//!   (4401) and every later request with it is refused.
//!
//! See `docs/security.md` for the threat model.

use base64::Engine;
use jiff::Timestamp;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a token lets its holder do, strongest first. Each role includes the
/// ones below it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// View the agenda and charts, receive live updates; never write.
    Read,
    /// Also propose sessions (the marketplace) and edit charts.
    Edit,
    /// Also set up the conference, rearrange the agenda, mint and revoke links.
    Organizer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Edit => "edit",
            Role::Organizer => "organizer",
        }
    }
}

/// A stored token: everything but the secret itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Public id (first 16 hex digits of the hash): names the token in the
    /// links list, the revoke URL and the hub's grant.
    pub id: String,
    /// Full SHA-256 of the secret, hex.
    pub hash: String,
    pub conference_id: String,
    pub role: Role,
    pub label: String,
    pub created: Timestamp,
    #[serde(default)]
    pub revoked: Option<Timestamp>,
    /// A personal link: one voter (`votes.rs`), minted for one person.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub personal: bool,
}

/// A freshly minted token: the secret (to show once) and its record.
pub struct Minted {
    pub secret: String,
    pub record: TokenRecord,
}

/// Store key of a token record.
pub fn token_key(hash: &str) -> String {
    format!("token/{hash}")
}

/// SHA-256 of a presented secret, hex.
pub fn hash_token(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Mint a new random token for a conference.
pub fn mint(conference_id: &str, role: Role, label: &str) -> Minted {
    let secret = secret();
    let hash = hash_token(&secret);
    Minted {
        record: TokenRecord {
            id: hash[..16].to_owned(),
            hash,
            conference_id: conference_id.to_owned(),
            role,
            label: label.to_owned(),
            created: Timestamp::now(),
            revoked: None,
            personal: false,
        },
        secret,
    }
}

/// 256 random bits from the OS RNG, base64url (43 characters): a token's
/// secret, or a poster's key.
pub fn secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `record` was stored for the presented secret's hash, compared in
/// constant time.
pub fn hash_matches(record: &TokenRecord, presented_hash: &str) -> bool {
    hashes_match(&record.hash, presented_hash)
}

/// Two hashes compared in constant time.
pub fn hashes_match(stored: &str, presented: &str) -> bool {
    stored.as_bytes().ct_eq(presented.as_bytes()).into()
}

/// A random id for conferences, sessions, rounds, spaces and charts:
/// `prefix` + 16 hex digits (64 bits; ids are not secrets, tokens are).
pub fn new_id(prefix: &str) -> String {
    let mut bytes = [0u8; 8];
    rand::rng().fill_bytes(&mut bytes);
    let mut out = String::from(prefix);
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}
