//! Forgetting a subject: `SCAN MATCH` on the subject's hash tags (every master of a Cluster),
//! then `UNLINK` in groups of one tag (one slot).

use std::collections::BTreeMap;

use redis::Value;
use sentinel_core::{StoreError, SubjectKeys};

use crate::error::protocol;
use crate::scan::{BATCH, keys_matching};
use crate::scripts::kind;
use crate::store::RedisStore;

impl RedisStore {
    /// Every key of `keys.subject()` (see [`sentinel_core::forget`]), sorted: one `SCAN
    /// MATCH` pass per pattern of [`SubjectKeys::patterns`], on every master of a Cluster (a
    /// user's keys in other chats carry other hash tags, so live in other slots), keeping the
    /// keys [`SubjectKeys::matches`] accepts. For admin tools (`sentinel peek`).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use sentinel_core::{KeyBuilder, Subject, SubjectKeys};
    /// use sentinel_storage_redis::RedisStore;
    ///
    /// let store = RedisStore::from_url("redis://127.0.0.1:6379")?;
    /// let user = SubjectKeys::new(&KeyBuilder::new("bot")?, &Subject::User(42))?;
    /// for key in store.keys_of(&user).await? {
    ///     println!("{key}");
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`RedisStore::ping`].
    pub async fn keys_of(&self, keys: &SubjectKeys) -> Result<Vec<String>, StoreError> {
        keys_matching(self, keys.patterns(), &|k| keys.matches(k)).await
    }

    /// [`Store::forget`](sentinel_core::Store::forget): [`RedisStore::keys_of`], then
    /// `UNLINK` of each hash tag's keys together (so a Cluster sees single-slot commands).
    pub(crate) async fn forget_keys(&self, keys: &SubjectKeys) -> Result<u64, StoreError> {
        let found = self.keys_of(keys).await?;
        let mut by_tag: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for key in &found {
            let tag = key
                .split_once('{')
                .and_then(|(_, rest)| rest.split_once('}'))
                .map_or(key.as_str(), |(tag, _)| tag);
            by_tag.entry(tag).or_default().push(key);
        }
        let mut deleted = 0;
        for group in by_tag.values() {
            for chunk in group.chunks(BATCH) {
                let reply: Value = self
                    .run(|mut c| async move {
                        Ok(redis::cmd("UNLINK").arg(chunk).query_async(&mut c).await?)
                    })
                    .await?;
                match reply {
                    Value::Int(n) => deleted += u64::try_from(n).unwrap_or(0),
                    other => {
                        return Err(protocol(format_args!("UNLINK replied {}", kind(&other))));
                    }
                }
            }
        }
        Ok(deleted)
    }
}
