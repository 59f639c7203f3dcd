//! Throttling of sign-in and of the public portal. Attempts are counted in the database
//! (`store::throttle`), so every node on one database shares the count, in a sliding window.
//!
//! Sign-in failures are counted per account *at an address* and per address: a wrong password
//! typed from one address locks that address out of that account (and a spray of accounts from
//! one address out of all), but never the real user signing in from elsewhere.

use chrono::{DateTime, Duration, Utc};
use loopdesk_domain::DomainError;
use loopdesk_store::throttle;

use crate::{Service, ServiceResult};

/// How far back attempts count.
pub const WINDOW_SECS: i64 = 15 * 60;
/// Failed sign-ins to one account from one address.
pub const MAX_PER_ACCOUNT_AT_ADDR: i64 = 5;
/// Failed sign-ins from one address, whatever the account.
pub const MAX_PER_ADDR: i64 = 30;
/// Portal requests of one kind (submissions, failed look-ups) from one address.
pub const MAX_PORTAL_PER_KIND: i64 = 5;
/// Portal requests of all kinds from one address.
pub const MAX_PORTAL_PER_ADDR: i64 = 30;

fn window() -> Duration {
    Duration::seconds(WINDOW_SECS)
}

pub(crate) fn account_key(account: &str, addr: &str) -> String {
    format!("signin:account:{account}@{addr}")
}

pub(crate) fn addr_key(addr: &str) -> String {
    format!("signin:addr:{addr}")
}

impl Service {
    /// `Err(RateLimited)` with the seconds until the fullest of `limits` has room again.
    pub(crate) async fn throttle_check(&self, limits: &[(String, i64)], now: DateTime<Utc>) -> ServiceResult<()> {
        let mut h = self.store.read().await?;
        let mut wait: Option<i64> = None;
        for (key, max) in limits {
            let (n, oldest) = throttle::since(&mut h.conn(), key, now - window()).await?;
            if n >= *max {
                let secs = oldest.map_or(WINDOW_SECS, |o| (o + window() - now).num_seconds()).max(1);
                wait = Some(wait.map_or(secs, |w| w.max(secs)));
            }
        }
        match wait {
            Some(secs) => Err(DomainError::RateLimited { retry_after_secs: secs.unsigned_abs() }.into()),
            None => Ok(()),
        }
    }

    /// Counts one attempt under every key; now and then drops what no longer counts.
    pub(crate) async fn throttle_hit(&self, keys: &[String], now: DateTime<Utc>) -> ServiceResult<()> {
        let mut tx = self.store.begin().await?;
        throttle::hit(&mut tx.conn(), keys, now).await?;
        if rand::random::<u8>() < 4 {
            throttle::prune(&mut tx.conn(), now - window()).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn throttle_clear(&self, key: &str) -> ServiceResult<()> {
        let mut tx = self.store.begin().await?;
        throttle::clear(&mut tx.conn(), key).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Counts one portal request from `addr` (`kind` separates submissions from failed look-ups)
    /// and refuses it when the address is over its limit: 5 of a kind and 30 in all every
    /// 15 minutes, on every node together.
    pub async fn portal_throttle(&self, kind: &str, addr: &str) -> ServiceResult<()> {
        let now = self.now();
        let (kind_key, all_key) = (format!("portal:{kind}:{addr}"), format!("portal:addr:{addr}"));
        self.throttle_check(&[(kind_key.clone(), MAX_PORTAL_PER_KIND), (all_key.clone(), MAX_PORTAL_PER_ADDR)], now)
            .await?;
        self.throttle_hit(&[kind_key, all_key], now).await
    }
}
