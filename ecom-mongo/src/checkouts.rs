//! [`CheckoutRepo`] on the `Checkouts` collection: one document per checkout, the order it will
//! create embedded. A unique index on `(customerId, idempotencyKey)` makes "one checkout per
//! key" a database rule; transitions are compare-and-set updates with the expected state in
//! the filter; recovery finds abandoned records through the `(state, deadline)` index.

use crate::error::{conflict_as, to_core};
use crate::orders::OrderDoc;
use crate::timestamp;
use async_trait::async_trait;
use bson::doc;
use ecom_core::checkout::{
    CheckoutFailure, CheckoutRecord, CheckoutRepo, CheckoutState, Transition,
};
use ecom_core::clock::Timestamp;
use ecom_core::id::{CheckoutId, CustomerId};
use ecom_core::Result;
use futures::TryStreamExt;
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

/// Collection of checkout records.
pub(crate) const CHECKOUTS: &str = "Checkouts";

/// The states recovery may take over.
const NON_TERMINAL: [CheckoutState; 3] = [
    CheckoutState::Started,
    CheckoutState::Committing,
    CheckoutState::RollingBack,
];

/// Indexes of `Checkouts`: the unique idempotency key per customer, and the deadline index that
/// recovery scans.
pub(crate) fn indexes() -> Vec<IndexModel> {
    vec![
        IndexModel::builder()
            .keys(doc! { "customerId": 1, "idempotencyKey": 1 })
            .options(
                IndexOptions::builder()
                    .name("customer_key_unique".to_owned())
                    .unique(true)
                    .build(),
            )
            .build(),
        IndexModel::builder()
            .keys(doc! { "state": 1, "deadline": 1 })
            .options(
                IndexOptions::builder()
                    .name("state_deadline".to_owned())
                    .build(),
            )
            .build(),
    ]
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CheckoutDoc {
    #[serde(rename = "_id")]
    id: CheckoutId,
    customer_id: CustomerId,
    idempotency_key: String,
    state: CheckoutState,
    order: OrderDoc,
    failure: Option<CheckoutFailure>,
    #[serde(with = "timestamp")]
    deadline: Timestamp,
    #[serde(with = "timestamp")]
    created_at: Timestamp,
    #[serde(with = "timestamp")]
    updated_at: Timestamp,
}

impl CheckoutDoc {
    fn from_record(r: &CheckoutRecord) -> Result<Self> {
        Ok(CheckoutDoc {
            id: r.id.clone(),
            customer_id: r.customer_id.clone(),
            idempotency_key: r.idempotency_key.clone(),
            state: r.state,
            order: OrderDoc::from_order(&r.order)?,
            failure: r.failure.clone(),
            deadline: r.deadline,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }

    fn into_record(self) -> Result<CheckoutRecord> {
        Ok(CheckoutRecord {
            id: self.id,
            customer_id: self.customer_id,
            idempotency_key: self.idempotency_key,
            state: self.state,
            order: self.order.into_order()?,
            failure: self.failure,
            deadline: self.deadline,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn state_bson(state: CheckoutState) -> Result<bson::Bson> {
    bson::to_bson(&state).map_err(to_core)
}

/// MongoDB [`CheckoutRepo`] on the `Checkouts` collection.
#[derive(Debug, Clone)]
pub struct MongoCheckouts {
    checkouts: Collection<CheckoutDoc>,
}

impl MongoCheckouts {
    /// The repository on `db`.
    pub fn new(db: &Database) -> Self {
        MongoCheckouts {
            checkouts: db.collection(CHECKOUTS),
        }
    }
}

#[async_trait]
impl CheckoutRepo for MongoCheckouts {
    async fn insert(&self, record: &CheckoutRecord) -> Result<()> {
        self.checkouts
            .insert_one(CheckoutDoc::from_record(record)?)
            .await
            .map_err(to_core)
            .map_err(|e| conflict_as(e, "checkout exists for this idempotency key"))?;
        Ok(())
    }

    async fn get(&self, id: &CheckoutId) -> Result<Option<CheckoutRecord>> {
        self.checkouts
            .find_one(doc! { "_id": id.as_str() })
            .await
            .map_err(to_core)?
            .map(CheckoutDoc::into_record)
            .transpose()
    }

    async fn find_by_key(
        &self,
        customer_id: &CustomerId,
        idempotency_key: &str,
    ) -> Result<Option<CheckoutRecord>> {
        self.checkouts
            .find_one(
                doc! { "customerId": customer_id.as_str(), "idempotencyKey": idempotency_key },
            )
            .await
            .map_err(to_core)?
            .map(CheckoutDoc::into_record)
            .transpose()
    }

    async fn transition(&self, id: &CheckoutId, change: &Transition) -> Result<bool> {
        let failure = match &change.failure {
            Some(failure) => bson::to_bson(failure).map_err(to_core)?,
            None => bson::Bson::Null,
        };
        let moved = self
            .checkouts
            .update_one(
                doc! { "_id": id.as_str(), "state": state_bson(change.from)? },
                doc! { "$set": {
                    "state": state_bson(change.to)?,
                    "deadline": timestamp::to_bson(&change.deadline).map_err(to_core)?,
                    "failure": failure,
                    "updatedAt": timestamp::to_bson(&change.now).map_err(to_core)?,
                } },
            )
            .await
            .map_err(to_core)?;
        Ok(moved.matched_count == 1)
    }

    async fn list_stale(&self, now: Timestamp, limit: u32) -> Result<Vec<CheckoutRecord>> {
        if limit == 0 {
            // MongoDB reads a limit of 0 as "no limit".
            return Ok(Vec::new());
        }
        let states = NON_TERMINAL
            .iter()
            .map(|s| state_bson(*s))
            .collect::<Result<Vec<_>>>()?;
        let docs: Vec<CheckoutDoc> = self
            .checkouts
            .find(doc! {
                "state": { "$in": states },
                "deadline": { "$lt": timestamp::to_bson(&now).map_err(to_core)? },
            })
            .sort(doc! { "deadline": 1, "_id": 1 })
            .limit(i64::from(limit))
            .await
            .map_err(to_core)?
            .try_collect()
            .await
            .map_err(to_core)?;
        docs.into_iter().map(CheckoutDoc::into_record).collect()
    }
}
