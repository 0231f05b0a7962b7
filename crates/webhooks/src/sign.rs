//! Standard Webhooks signatures: `webhook-signature: v1,<base64 of
//! HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, the key being the bytes
//! of a `whsec_<base64>` secret.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// The prefix of every secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// Shortest key accepted, in bytes (Standard Webhooks: 24 to 64).
pub const MIN_SECRET_BYTES: usize = 24;
/// Longest key accepted, in bytes.
pub const MAX_SECRET_BYTES: usize = 64;
/// Bytes of a key the server makes.
const GENERATED_SECRET_BYTES: usize = 32;

/// Why a secret was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("the secret must start with {SECRET_PREFIX} followed by base64 (e.g. as generated when you leave it out)")]
    Prefix,
    #[error("the part after {SECRET_PREFIX} is not base64")]
    Base64,
    #[error("the secret is {0} bytes; it must be {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes (after base64 decoding)")]
    Length(usize),
}

/// The key bytes of a `whsec_` secret, checked.
pub fn secret_key(secret: &str) -> Result<Vec<u8>, SecretError> {
    let encoded = secret
        .strip_prefix(SECRET_PREFIX)
        .ok_or(SecretError::Prefix)?;
    let key = STANDARD.decode(encoded).map_err(|_| SecretError::Base64)?;
    if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&key.len()) {
        return Err(SecretError::Length(key.len()));
    }
    Ok(key)
}

/// A new random secret.
pub fn generate_secret() -> String {
    let mut key = [0u8; GENERATED_SECRET_BYTES];
    rand::rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The `webhook-signature` header value for one attempt.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    // HMAC takes keys of any length; the error is unreachable.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets() {
        let s = generate_secret();
        assert_eq!(secret_key(&s).unwrap().len(), GENERATED_SECRET_BYTES);
        assert_eq!(secret_key("abc"), Err(SecretError::Prefix));
        assert_eq!(secret_key("whsec_!!!"), Err(SecretError::Base64));
        let short = format!("whsec_{}", STANDARD.encode([7u8; 16]));
        assert_eq!(secret_key(&short), Err(SecretError::Length(16)));
        let long = format!("whsec_{}", STANDARD.encode([7u8; 65]));
        assert_eq!(secret_key(&long), Err(SecretError::Length(65)));
    }

    /// The example of the Standard Webhooks specification's reference
    /// libraries: this secret, id, timestamp and body sign to this value.
    #[test]
    fn known_signature() {
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = signature(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
