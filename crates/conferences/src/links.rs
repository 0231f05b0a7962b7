//! Capability links of a conference: minting, listing, revoking, and
//! turning a presented secret into its record (see `tokens.rs` for how a
//! token is made and stored).

use jiff::Timestamp;

use crate::tokens::{self as access, Minted, Role, TokenRecord};
use crate::{to_json, Conferences, Effect, Error, Result};

impl Conferences {
    pub(crate) async fn put_token(&self, record: &TokenRecord) -> Result<()> {
        self.inner
            .meta
            .put(&access::token_key(&record.hash), &to_json(record)?)
            .await?;
        Ok(())
    }

    /// Mint a capability link for a conference. Under the conference's
    /// lock, so a deletion cannot miss it.
    pub async fn mint_link(&self, conference_id: &str, role: Role, label: &str) -> Result<Minted> {
        let _guard = self.guard(conference_id).await?;
        self.load(conference_id).await?;
        let minted = access::mint(conference_id, role, label);
        self.put_token(&minted.record).await?;
        Ok(minted)
    }

    /// All tokens of a conference (revoked ones included), oldest first.
    pub async fn links(&self, conference_id: &str) -> Result<Vec<TokenRecord>> {
        let mut out: Vec<TokenRecord> = self
            .inner
            .meta
            .scan("token/")
            .await?
            .into_iter()
            .filter_map(|(_, v)| serde_json::from_slice::<TokenRecord>(&v).ok())
            .filter(|t| t.conference_id == conference_id)
            .collect();
        out.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// Revoke a token by its public id: later requests with it fail and its
    /// open WebSockets are closed with 4401 on every node, its event
    /// streams end. Revoking again announces again (a retry after an
    /// announcement failed).
    pub async fn revoke(&self, conference_id: &str, token_id: &str) -> Result<TokenRecord> {
        let _guard = self.guard(conference_id).await?;
        let mut record = self
            .links(conference_id)
            .await?
            .into_iter()
            .find(|t| t.id == token_id)
            .ok_or_else(|| Error::LinkNotFound(token_id.to_owned()))?;
        if record.revoked.is_none() {
            record.revoked = Some(Timestamp::now());
            self.put_token(&record).await?;
        }
        if record.personal {
            // A revoked voter's dots no longer count.
            self.drop_voter_locked(conference_id, &record.id).await?;
        }
        self.announce(Effect::Revoked {
            conference_id: conference_id.to_owned(),
            token_id: record.id.clone(),
        })
        .await?;
        Ok(record)
    }

    /// The token record stored under `hash`, if any.
    async fn token(&self, hash: &str) -> Result<Option<TokenRecord>> {
        let Some(bytes) = self.inner.meta.get(&access::token_key(hash)).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Corrupt(format!("token: {e}")))
    }

    /// The valid (known, unrevoked) token for a presented secret.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<TokenRecord>> {
        let hash = access::hash_token(secret);
        let Some(record) = self.token(&hash).await? else {
            return Ok(None);
        };
        if !access::hash_matches(&record, &hash) || record.revoked.is_some() {
            return Ok(None);
        }
        Ok(Some(record))
    }

    /// Whether a token id is still valid (for long-lived streams).
    pub async fn token_valid(&self, record: &TokenRecord) -> bool {
        matches!(self.token(&record.hash).await, Ok(Some(r)) if r.revoked.is_none())
    }

    // ----- charts ------------------------------------------------------------
}
