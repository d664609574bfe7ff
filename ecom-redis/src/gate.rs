//! [`RedisStockGate`]: the stock-gate port on Redis.

use crate::connection::{bounded, connect};
use async_trait::async_trait;
use ecom_core::clock::Timestamp;
use ecom_core::gate::{Admission, GateLine, StockGate, Tally};
use ecom_core::id::ProductId;
use ecom_core::{Error, Result};
use redis::aio::ConnectionManager;
use redis::Script;
use std::fmt;

/// A [`StockGate`] on Redis, shared by every process using the same Redis and prefix.
///
/// One Lua script admits all lines of an order or none. Every key of the gate carries the hash
/// tag `{gate}`, so the scripts run unchanged on Redis Cluster (the gate then lives on one slot).
/// The prefix must not contain `{` or `}`.
#[derive(Clone)]
pub struct RedisStockGate {
    conn: ConnectionManager,
    prefix: String,
    admit: Script,
    release: Script,
    commit: Script,
    add: Script,
    take: Script,
    heal: Script,
}

impl fmt::Debug for RedisStockGate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStockGate")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStockGate {
    /// Connects to `url`; every key gets `prefix` in front.
    /// [`Error::Unavailable`] if Redis cannot be reached.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self> {
        if prefix.contains(['{', '}']) {
            return Err(Error::validation(
                "redis prefix",
                "must not contain '{' or '}'",
            ));
        }
        Ok(RedisStockGate {
            conn: connect(url).await?,
            prefix: prefix.to_owned(),
            admit: Script::new(include_str!("../lua/gate_admit.lua")),
            release: Script::new(include_str!("../lua/gate_release.lua")),
            commit: Script::new(include_str!("../lua/gate_commit.lua")),
            add: Script::new(include_str!("../lua/gate_add.lua")),
            take: Script::new(include_str!("../lua/gate_take.lua")),
            heal: Script::new(include_str!("../lua/gate_heal.lua")),
        })
    }

    /// The key holding a product's count.
    pub fn count_key(&self, product: &ProductId) -> String {
        format!("{}{{gate}}:count:{product}", self.prefix)
    }

    fn open_key(&self, product: &ProductId) -> String {
        format!("{}{{gate}}:open:{product}", self.prefix)
    }

    fn epoch_key(&self, product: &ProductId) -> String {
        format!("{}{{gate}}:epoch:{product}", self.prefix)
    }

    /// The sorted set of counted products (all scores 0, so ordered by id).
    fn counted_key(&self) -> String {
        format!("{}{{gate}}:counted", self.prefix)
    }

    fn admission_key(&self, checkout: &str) -> String {
        format!("{}{{gate}}:admission:{checkout}", self.prefix)
    }

    /// The sorted set of held admissions, scored by admission time (ms).
    fn held_key(&self) -> String {
        format!("{}{{gate}}:held", self.prefix)
    }

    /// Runs `script` (`add` or `take`) on a product's count and epoch with `units`.
    async fn move_count(&self, script: &Script, product: &ProductId, units: u64) -> Result<()> {
        let mut invocation = script.prepare_invoke();
        invocation
            .key(self.count_key(product))
            .key(self.epoch_key(product))
            .arg(units);
        let mut conn = self.conn.clone();
        bounded(invocation.invoke_async::<i64>(&mut conn)).await?;
        Ok(())
    }
}

fn product(id: &str) -> Result<ProductId> {
    ProductId::parse(id)
        .map_err(|_| Error::backend(format!("gate returned a bad product id {id:?}")))
}

#[async_trait]
impl StockGate for RedisStockGate {
    async fn admit(&self, checkout: &str, lines: &[GateLine], at: Timestamp) -> Result<Admission> {
        let mut invocation = self.admit.prepare_invoke();
        invocation.key(self.admission_key(checkout));
        invocation.key(self.held_key());
        for line in lines {
            invocation.key(self.count_key(&line.product_id));
        }
        for line in lines {
            invocation.key(self.open_key(&line.product_id));
        }
        invocation.arg(at.timestamp_millis());
        invocation.arg(checkout);
        for line in lines {
            invocation.arg(line.quantity);
        }
        for line in lines {
            invocation.arg(line.product_id.as_str());
        }
        let mut conn = self.conn.clone();
        let reply: Vec<String> = bounded(invocation.invoke_async(&mut conn)).await?;
        match reply.split_first() {
            Some((kind, _)) if kind == "admitted" => Ok(Admission::Admitted),
            Some((kind, [id])) if kind == "refused" => Ok(Admission::Refused {
                product_id: product(id)?,
            }),
            Some((kind, ids)) if kind == "unseeded" => Ok(Admission::Unseeded {
                product_ids: ids.iter().map(|id| product(id)).collect::<Result<_>>()?,
            }),
            _ => Err(Error::backend(format!("unexpected gate reply {reply:?}"))),
        }
    }

    async fn release(&self, checkout: &str, products: &[ProductId]) -> Result<()> {
        let mut invocation = self.release.prepare_invoke();
        invocation.key(self.admission_key(checkout));
        invocation.key(self.held_key());
        for product in products {
            invocation.key(self.count_key(product));
        }
        for product in products {
            invocation.key(self.open_key(product));
        }
        invocation.arg(checkout);
        for product in products {
            invocation.arg(product.as_str());
        }
        let mut conn = self.conn.clone();
        bounded(invocation.invoke_async::<i64>(&mut conn)).await?;
        Ok(())
    }

    async fn commit(&self, checkout: &str, products: &[ProductId]) -> Result<()> {
        let mut invocation = self.commit.prepare_invoke();
        invocation
            .key(self.admission_key(checkout))
            .key(self.held_key())
            .arg(checkout);
        for product in products {
            invocation.key(self.open_key(product));
        }
        for product in products {
            invocation.key(self.epoch_key(product));
        }
        for product in products {
            invocation.arg(product.as_str());
        }
        let mut conn = self.conn.clone();
        bounded(invocation.invoke_async::<i64>(&mut conn)).await?;
        Ok(())
    }

    async fn list_stale(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<(String, Vec<ProductId>)>> {
        let mut conn = self.conn.clone();
        let range = redis::cmd("ZRANGEBYSCORE")
            .arg(self.held_key())
            .arg("-inf")
            .arg(format!("({}", before.timestamp_millis()))
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .to_owned();
        let ids: Vec<String> = bounded(range.query_async(&mut conn)).await?;
        let mut stale = Vec::with_capacity(ids.len());
        for id in ids {
            let keys = redis::cmd("HKEYS").arg(self.admission_key(&id)).to_owned();
            let products: Vec<String> = bounded(keys.query_async(&mut conn)).await?;
            let products = products
                .iter()
                .map(|p| product(p))
                .collect::<Result<Vec<_>>>()?;
            stale.push((id, products));
        }
        Ok(stale)
    }

    async fn seed(&self, product: &ProductId, units: u64) -> Result<()> {
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("SET")
            .arg(self.count_key(product))
            .arg(units)
            .arg("NX")
            .ignore()
            .cmd("ZADD")
            .arg(self.counted_key())
            .arg(0)
            .arg(product.as_str())
            .ignore();
        bounded(pipe.query_async::<()>(&mut conn)).await
    }

    async fn add(&self, product: &ProductId, units: u32) -> Result<()> {
        self.move_count(&self.add, product, u64::from(units)).await
    }

    async fn take(&self, product: &ProductId, units: u64) -> Result<()> {
        self.move_count(&self.take, product, units).await
    }

    async fn tally(&self, product: &ProductId) -> Result<Tally> {
        let mut conn = self.conn.clone();
        let cmd = redis::cmd("MGET")
            .arg(self.count_key(product))
            .arg(self.open_key(product))
            .arg(self.epoch_key(product))
            .to_owned();
        let (count, open, epoch): (Option<u64>, Option<u64>, Option<u64>) =
            bounded(cmd.query_async(&mut conn)).await?;
        Ok(Tally {
            count,
            open: open.unwrap_or(0),
            epoch: epoch.unwrap_or(0),
        })
    }

    async fn heal(
        &self,
        product: &ProductId,
        stock: u64,
        epoch: u64,
        exact_when_idle: bool,
    ) -> Result<Option<u64>> {
        let mut invocation = self.heal.prepare_invoke();
        invocation
            .key(self.count_key(product))
            .key(self.open_key(product))
            .key(self.epoch_key(product))
            .key(self.counted_key())
            .arg(stock)
            .arg(epoch)
            .arg(if exact_when_idle { "1" } else { "0" })
            .arg(product.as_str());
        let mut conn = self.conn.clone();
        let healed: i64 = bounded(invocation.invoke_async(&mut conn)).await?;
        Ok(u64::try_from(healed).ok())
    }

    async fn counted(&self, after: Option<&ProductId>, limit: u32) -> Result<Vec<ProductId>> {
        let mut conn = self.conn.clone();
        let start = after.map_or_else(|| "-".to_owned(), |a| format!("({a}"));
        let cmd = redis::cmd("ZRANGEBYLEX")
            .arg(self.counted_key())
            .arg(start)
            .arg("+")
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .to_owned();
        let ids: Vec<String> = bounded(cmd.query_async(&mut conn)).await?;
        ids.iter().map(|id| product(id)).collect()
    }

    async fn reset(&self, product: &ProductId) -> Result<()> {
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("DEL")
            .arg(self.count_key(product))
            .ignore()
            .cmd("ZREM")
            .arg(self.counted_key())
            .arg(product.as_str())
            .ignore();
        bounded(pipe.query_async::<()>(&mut conn)).await
    }

    async fn available(&self, product: &ProductId) -> Result<Option<u64>> {
        let mut conn = self.conn.clone();
        let cmd = redis::cmd("GET").arg(self.count_key(product)).to_owned();
        bounded(cmd.query_async::<Option<u64>>(&mut conn)).await
    }
    async fn ping(&self) -> Result<()> {
        let mut conn = self.conn.clone();
        bounded(redis::cmd("PING").query_async::<String>(&mut conn)).await?;
        Ok(())
    }
}
