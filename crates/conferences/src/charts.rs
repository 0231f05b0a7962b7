//! The chart index: which conference and session a chart belongs to, and
//! what a token may do on it (a final, cancelled or merged-away session's
//! chart is read-only for everyone).

use easel_agenda::SessionState;
use easel_hub::Access;

use crate::tokens::{Role, TokenRecord};
use crate::{chart_key, ChartDenied, ChartEntry, Conferences, Error, Result};

impl Conferences {
    pub async fn chart_entry(&self, chart_id: &str) -> Result<Option<ChartEntry>> {
        match self.inner.meta.get(&chart_key(chart_id)).await? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Error::Corrupt(format!("chart {chart_id}: {e}"))),
        }
    }

    /// Ids of every chart in the chart index.
    pub async fn indexed_charts(&self) -> Result<Vec<String>> {
        Ok(self
            .inner
            .meta
            .scan("chart/")
            .await?
            .into_iter()
            .map(|(k, _)| k.trim_start_matches("chart/").to_owned())
            .collect())
    }

    /// What a token may do on a chart: its role's access, but read-only
    /// when the session is final, cancelled or merged away.
    pub async fn chart_access(
        &self,
        token: &TokenRecord,
        chart_id: &str,
    ) -> Result<std::result::Result<Access, ChartDenied>> {
        let Some(entry) = self.chart_entry(chart_id).await? else {
            return Ok(Err(ChartDenied::Forbidden));
        };
        if entry.conference_id != token.conference_id {
            return Ok(Err(ChartDenied::Forbidden));
        }
        if token.role == Role::Read || entry.merged_into.is_some() {
            return Ok(Ok(Access::Read));
        }
        let stored = self.load_shared(&entry.conference_id).await?;
        let writable = stored
            .conference
            .sessions()
            .iter()
            .any(|s| s.chart_id == chart_id && s.state != SessionState::Final)
            || crate::report::circle_of(&stored, chart_id).is_some();
        Ok(Ok(if writable { Access::Edit } else { Access::Read }))
    }
}
