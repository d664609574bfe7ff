//! [`OrderRepo`] on the `Orders` collection.

use crate::error::{conflict_as, out_of_range, to_core};
use crate::timestamp;
use async_trait::async_trait;
use bson::doc;
use ecom_core::clock::Timestamp;
use ecom_core::id::{CheckoutId, CustomerId, OrderId};
use ecom_core::order::{AppliedDiscount, CheckoutTotals, Order, OrderLine, OrderRepo, OrderStatus};
use ecom_core::page::Page;
use ecom_core::{Error, Result};
use futures::TryStreamExt;
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Collection of orders.
pub(crate) const ORDERS: &str = "Orders";

/// Indexes of `Orders`: a customer's orders, newest first; orders that still owe stock or
/// discount uses back (a partial index: only those are in it).
pub(crate) fn indexes() -> Vec<IndexModel> {
    vec![
        IndexModel::builder()
            .keys(doc! { "customerId": 1, "createdAt": -1, "_id": -1 })
            .options(
                IndexOptions::builder()
                    .name("customer_newest".to_owned())
                    .build(),
            )
            .build(),
        IndexModel::builder()
            .keys(doc! { "updatedAt": 1 })
            .options(
                IndexOptions::builder()
                    .name("returns_pending".to_owned())
                    .partial_filter_expression(doc! { "returnsPending": true })
                    .build(),
            )
            .build(),
    ]
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderDoc {
    #[serde(rename = "_id")]
    id: OrderId,
    customer_id: CustomerId,
    checkout_id: CheckoutId,
    totals: CheckoutTotals,
    shipping: Value,
    payment: Value,
    lines: Vec<OrderLine>,
    discounts: Vec<AppliedDiscount>,
    tracking_number: Option<String>,
    note: Option<String>,
    status: OrderStatus,
    returns_pending: bool,
    version: i64,
    #[serde(with = "timestamp")]
    created_at: Timestamp,
    #[serde(with = "timestamp")]
    updated_at: Timestamp,
}

impl OrderDoc {
    pub(crate) fn from_order(o: &Order) -> Result<Self> {
        Ok(OrderDoc {
            id: o.id.clone(),
            customer_id: o.customer_id.clone(),
            checkout_id: o.checkout_id.clone(),
            totals: o.totals,
            shipping: o.shipping.clone(),
            payment: o.payment.clone(),
            lines: o.lines.clone(),
            discounts: o.discounts.clone(),
            tracking_number: o.tracking_number.clone(),
            note: o.note.clone(),
            status: o.status,
            returns_pending: o.returns_pending,
            version: i64::try_from(o.version)
                .map_err(|_| Error::validation("version", "is too large"))?,
            created_at: o.created_at,
            updated_at: o.updated_at,
        })
    }

    pub(crate) fn into_order(self) -> Result<Order> {
        Ok(Order {
            id: self.id,
            customer_id: self.customer_id,
            checkout_id: self.checkout_id,
            totals: self.totals,
            shipping: self.shipping,
            payment: self.payment,
            lines: self.lines,
            discounts: self.discounts,
            tracking_number: self.tracking_number,
            note: self.note,
            status: self.status,
            returns_pending: self.returns_pending,
            version: u64::try_from(self.version).map_err(|_| out_of_range("version"))?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// MongoDB [`OrderRepo`] on the `Orders` collection.
#[derive(Debug, Clone)]
pub struct MongoOrders {
    orders: Collection<OrderDoc>,
}

impl MongoOrders {
    /// The repository on `db`.
    pub fn new(db: &Database) -> Self {
        MongoOrders {
            orders: db.collection(ORDERS),
        }
    }
}

#[async_trait]
impl OrderRepo for MongoOrders {
    async fn insert(&self, order: &Order) -> Result<()> {
        self.orders
            .insert_one(OrderDoc::from_order(order)?)
            .await
            .map_err(to_core)
            .map_err(|e| conflict_as(e, "order exists"))?;
        Ok(())
    }

    async fn get(&self, id: &OrderId) -> Result<Option<Order>> {
        self.orders
            .find_one(doc! { "_id": id.as_str() })
            .await
            .map_err(to_core)?
            .map(OrderDoc::into_order)
            .transpose()
    }

    async fn list_by_customer(&self, customer_id: &CustomerId, page: Page) -> Result<Vec<Order>> {
        let docs: Vec<OrderDoc> = self
            .orders
            .find(doc! { "customerId": customer_id.as_str() })
            .sort(doc! { "createdAt": -1, "_id": -1 })
            .skip(page.skip)
            .limit(i64::from(page.limit))
            .await
            .map_err(to_core)?
            .try_collect()
            .await
            .map_err(to_core)?;
        docs.into_iter().map(OrderDoc::into_order).collect()
    }

    async fn replace(&self, order: &Order, expected_version: u64) -> Result<()> {
        let conflict = || Error::Conflict("order was changed concurrently".into());
        let expected = i64::try_from(expected_version).map_err(|_| conflict())?;
        let replaced = self
            .orders
            .replace_one(
                doc! { "_id": order.id.as_str(), "version": expected },
                OrderDoc::from_order(order)?,
            )
            .await
            .map_err(to_core)?;
        if replaced.matched_count == 1 {
            return Ok(());
        }
        let exists = self
            .orders
            .count_documents(doc! { "_id": order.id.as_str() })
            .await
            .map_err(to_core)?;
        if exists == 0 {
            Err(Error::not_found("order"))
        } else {
            Err(conflict())
        }
    }

    async fn list_returns_pending(&self, limit: u32) -> Result<Vec<Order>> {
        if limit == 0 {
            // MongoDB reads a limit of 0 as "no limit".
            return Ok(Vec::new());
        }
        let docs: Vec<OrderDoc> = self
            .orders
            .find(doc! { "returnsPending": true })
            .sort(doc! { "updatedAt": 1, "_id": 1 })
            .limit(i64::from(limit))
            .await
            .map_err(to_core)?
            .try_collect()
            .await
            .map_err(to_core)?;
        docs.into_iter().map(OrderDoc::into_order).collect()
    }
}
