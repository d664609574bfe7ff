//! [`OrderRepo`] on the `Orders` collection.
//!
//! Inserting an order is a checkout's commit point: `_id` is unique, and a unique index on
//! `(customerId, idempotencyKey)` makes "one order per key" a database rule. Voiding an order id
//! inserts a tombstone `{ _id, void: true }` in its place: a later insert of that id fails on
//! `_id`, and tombstones have no `customerId`, so no query for orders ever sees them.

use crate::collection::{collection, index, partial};
use crate::error::{exists_as, out_of_range, to_core};
use crate::timestamp;
use async_trait::async_trait;
use bson::{doc, Bson, Document};
use ecom_core::clock::Timestamp;
use ecom_core::event::Event;
use ecom_core::id::{CustomerId, OrderId, ReturnId, ShopId};
use ecom_core::order::{
    AppliedDiscount, CheckoutTotals, Order, OrderLine, OrderRepo, OrderStatus, ReturnClaim,
    ShopFulfilment, ShopOrderFilter,
};
use ecom_core::page::Page;
use ecom_core::payment::Payment;
use ecom_core::returns::{OrderReturn, ReturnFilter};
use ecom_core::{Error, Result};
use futures::TryStreamExt;
use mongodb::error::ErrorKind;

use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// MongoDB's duplicate-key error code.
const DUPLICATE_KEY: i32 = 11000;

/// Collection of orders.
pub(crate) const ORDERS: &str = "Orders";

/// Indexes of `Orders`: a customer's orders, newest first; one order per (customer, key) (only
/// real orders are in it, tombstones have no customer); orders with a return claim, by its
/// deadline (only those are in it); a shop's orders (by the shops of their lines), newest
/// first; orders whose payment is due (unpaid online orders by expiry, refunds due), by the
/// time it is due (only those are in it); an order by the id of one of its returns; a shop's
/// orders with returns, newest first; orders with a return the sweep must act on, by when
/// (only those are in it).
pub(crate) fn indexes() -> Vec<IndexModel> {
    vec![
        index(
            "customer_newest",
            doc! { "customerId": 1, "createdAt": -1, "_id": -1 },
        ),
        partial(
            "customer_key_unique",
            doc! { "customerId": 1, "idempotencyKey": 1 },
            doc! { "customerId": { "$exists": true } },
            true,
        ),
        index(
            "shop_newest",
            doc! { "lines.shop_id": 1, "createdAt": -1, "_id": -1 },
        ),
        partial(
            "payment_due",
            doc! { "paymentDue": 1 },
            doc! { "paymentDue": { "$exists": true } },
            false,
        ),
        partial(
            "return_id",
            doc! { "returns.id": 1 },
            doc! { "returns.id": { "$exists": true } },
            false,
        ),
        index(
            "shop_returns",
            doc! { "returns.shop_id": 1, "createdAt": -1, "_id": -1 },
        ),
        partial(
            "return_due",
            doc! { "returnDue": 1 },
            doc! { "returnDue": { "$exists": true } },
            false,
        ),
        partial(
            "returning",
            doc! { "returning.deadline": 1 },
            doc! { "returning": { "$exists": true } },
            false,
        ),
    ]
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ClaimDoc {
    token: String,
    #[serde(with = "timestamp")]
    deadline: Timestamp,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderDoc {
    #[serde(rename = "_id")]
    id: OrderId,
    customer_id: CustomerId,
    idempotency_key: String,
    totals: CheckoutTotals,
    shipping: Value,
    payment: Payment,
    /// [`Payment::due_at`] in the stored timestamp form, for the sweep's index; absent when
    /// nothing is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payment_due: Option<String>,
    lines: Vec<OrderLine>,
    discounts: Vec<AppliedDiscount>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    fulfilment: Vec<ShopFulfilment>,
    status: OrderStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    returning: Option<ClaimDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    returns: Vec<OrderReturn>,
    /// [`Order::returns_due`] in the stored timestamp form, for the sweep's index; absent when
    /// no return is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    return_due: Option<String>,
    version: i64,
    #[serde(with = "timestamp")]
    created_at: Timestamp,
    #[serde(with = "timestamp")]
    updated_at: Timestamp,
    /// Events waiting for the relay (written with the change that made them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    outbox: Vec<Event>,
}

/// The fields of [`OrderDoc`] a serialized order may leave out (`None`, empty): a replace
/// unsets those it leaves out.
const OPTIONAL_FIELDS: [&str; 5] = [
    "paymentDue",
    "fulfilment",
    "returning",
    "returns",
    "returnDue",
];

impl OrderDoc {
    pub(crate) fn from_order(o: &Order) -> Result<Self> {
        Ok(OrderDoc {
            id: o.id.clone(),
            customer_id: o.customer_id.clone(),
            idempotency_key: o.idempotency_key.clone(),
            totals: o.totals,
            shipping: o.shipping.clone(),
            payment: o.payment.clone(),
            payment_due: o
                .payment
                .due_at()
                .map(|at| timestamp::encode(&at))
                .transpose()
                .map_err(to_core)?,
            lines: o.lines.clone(),
            discounts: o.discounts.clone(),
            fulfilment: o.fulfilment.clone(),
            status: o.status,
            returning: o.returning.as_ref().map(|c| ClaimDoc {
                token: c.token.clone(),
                deadline: c.deadline,
            }),
            returns: o.returns.clone(),
            return_due: o
                .returns_due()
                .map(|at| timestamp::encode(&at))
                .transpose()
                .map_err(to_core)?,
            version: i64::try_from(o.version)
                .map_err(|_| Error::validation("version", "is too large"))?,
            created_at: o.created_at,
            updated_at: o.updated_at,
            outbox: Vec::new(),
        })
    }

    /// The document of `order` with `events` waiting.
    fn with_events(order: &Order, events: &[Event]) -> Result<Self> {
        Ok(OrderDoc {
            outbox: events.to_vec(),
            ..OrderDoc::from_order(order)?
        })
    }

    pub(crate) fn into_order(self) -> Result<Order> {
        Ok(Order {
            id: self.id,
            customer_id: self.customer_id,
            idempotency_key: self.idempotency_key,
            totals: self.totals,
            shipping: self.shipping,
            payment: self.payment,
            lines: self.lines,
            discounts: self.discounts,
            fulfilment: self.fulfilment,
            status: self.status,
            returning: self.returning.map(|c| ReturnClaim {
                token: c.token,
                deadline: c.deadline,
            }),
            returns: self.returns,
            version: u64::try_from(self.version).map_err(|_| out_of_range("version"))?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// The filter of a real order (not a tombstone) with `_id` `id`.
fn real(id: &OrderId) -> Document {
    doc! { "_id": id.as_str(), "customerId": { "$exists": true } }
}

/// MongoDB [`OrderRepo`] on the `Orders` collection.
#[derive(Debug, Clone)]
pub struct MongoOrders {
    orders: Collection<OrderDoc>,
    raw: Collection<Document>,
}

impl MongoOrders {
    /// The repository on `db`.
    pub fn new(db: &Database) -> Self {
        MongoOrders {
            orders: collection(db, ORDERS),
            raw: collection(db, ORDERS),
        }
    }

    async fn list(
        &self,
        filter: Document,
        sort: Document,
        skip: u64,
        limit: u32,
    ) -> Result<Vec<Order>> {
        if limit == 0 {
            // MongoDB reads a limit of 0 as "no limit".
            return Ok(Vec::new());
        }
        let docs: Vec<OrderDoc> = self
            .orders
            .find(filter)
            .sort(sort)
            .skip(skip)
            .limit(i64::from(limit))
            .await
            .map_err(to_core)?
            .try_collect()
            .await
            .map_err(to_core)?;
        docs.into_iter().map(OrderDoc::into_order).collect()
    }
}

#[async_trait]
impl OrderRepo for MongoOrders {
    async fn insert(&self, order: &Order, events: &[Event]) -> Result<()> {
        self.orders
            .insert_one(OrderDoc::with_events(order, events)?)
            .await
            .map_err(to_core)
            .map_err(|e| exists_as(e, "order"))?;
        Ok(())
    }

    async fn insert_many(&self, orders: &[(&Order, &[Event])]) -> Result<Vec<Result<()>>> {
        let docs = orders
            .iter()
            .map(|(o, events)| OrderDoc::with_events(o, events))
            .collect::<Result<Vec<_>>>()?;
        match self.orders.insert_many(docs).ordered(false).await {
            Ok(_) => Ok(orders.iter().map(|_| Ok(())).collect()),
            Err(e) => match e.kind.as_ref() {
                ErrorKind::InsertMany(failure) if failure.write_concern_error.is_none() => {
                    let mut results: Vec<Result<()>> = orders.iter().map(|_| Ok(())).collect();
                    for failed in failure.write_errors.iter().flatten() {
                        if let Some(slot) = results.get_mut(failed.index) {
                            *slot = Err(if failed.code == DUPLICATE_KEY {
                                Error::already_exists("order")
                            } else {
                                Error::backend(format!(
                                    "order insert failed with code {}",
                                    failed.code
                                ))
                            });
                        }
                    }
                    Ok(results)
                }
                _ => Err(to_core(e)),
            },
        }
    }

    async fn get(&self, id: &OrderId) -> Result<Option<Order>> {
        self.orders
            .find_one(real(id))
            .await
            .map_err(to_core)?
            .map(OrderDoc::into_order)
            .transpose()
    }

    async fn find_by_key(
        &self,
        customer_id: &CustomerId,
        idempotency_key: &str,
    ) -> Result<Option<Order>> {
        self.orders
            .find_one(doc! {
                "customerId": customer_id.as_str(),
                "idempotencyKey": idempotency_key,
            })
            .await
            .map_err(to_core)?
            .map(OrderDoc::into_order)
            .transpose()
    }

    async fn void(&self, id: &OrderId) -> Result<Option<Order>> {
        let tombstone = doc! { "_id": id.as_str(), "void": true };
        match self.raw.insert_one(tombstone).await.map_err(to_core) {
            Ok(_) => Ok(None),
            // The id is taken: by the order itself, or by an earlier void.
            Err(Error::AlreadyExists { .. }) => self.get(id).await,
            Err(e) => Err(e),
        }
    }

    async fn list_by_customer(&self, customer_id: &CustomerId, page: Page) -> Result<Vec<Order>> {
        self.list(
            doc! { "customerId": customer_id.as_str() },
            doc! { "createdAt": -1, "_id": -1 },
            page.skip,
            page.limit,
        )
        .await
    }

    async fn replace(&self, order: &Order, expected_version: u64, events: &[Event]) -> Result<()> {
        let conflict = || Error::changed("order");
        let expected = i64::try_from(expected_version).map_err(|_| conflict())?;
        let mut filter = real(&order.id);
        filter.insert("version", expected);
        // Every field but the outbox, which keeps its waiting events and gets the new ones.
        let mut fields =
            bson::to_document(&OrderDoc::from_order(order)?).map_err(Error::backend)?;
        fields.remove("_id");
        let unset: Document = OPTIONAL_FIELDS
            .iter()
            .filter(|f| !fields.contains_key(**f))
            .map(|f| ((*f).to_owned(), Bson::String(String::new())))
            .collect();
        let mut update = doc! { "$set": fields };
        if !unset.is_empty() {
            update.insert("$unset", unset);
        }
        if !events.is_empty() {
            let events = bson::to_bson(events).map_err(Error::backend)?;
            update.insert("$push", doc! { "outbox": { "$each": events } });
        }
        let replaced = self
            .orders
            .update_one(filter, update)
            .await
            .map_err(to_core)?;
        if replaced.matched_count == 1 {
            return Ok(());
        }
        let exists = self
            .orders
            .count_documents(real(&order.id))
            .await
            .map_err(to_core)?;
        if exists == 0 {
            Err(Error::not_found("order"))
        } else {
            Err(conflict())
        }
    }

    async fn list_returning(&self, now: Timestamp, limit: u32) -> Result<Vec<Order>> {
        let now = timestamp::to_bson(&now).map_err(to_core)?;
        self.list(
            doc! { "returning.deadline": { "$lt": now } },
            doc! { "returning.deadline": 1, "_id": 1 },
            0,
            limit,
        )
        .await
    }

    async fn find_by_return(&self, id: &ReturnId) -> Result<Option<Order>> {
        let found = self
            .orders
            .find_one(doc! { "returns.id": id.as_str() })
            .await
            .map_err(to_core)?;
        found.map(OrderDoc::into_order).transpose()
    }

    async fn list_with_returns(&self, filter: &ReturnFilter, page: Page) -> Result<Vec<Order>> {
        let mut matching = Document::new();
        let mut query = Document::new();
        if let Some(customer) = &filter.customer {
            query.insert("customerId", customer.as_str());
            matching.insert("customer_id", customer.as_str());
        }
        if let Some(shop) = &filter.shop {
            query.insert("returns.shop_id", shop.as_str());
            matching.insert("shop_id", shop.as_str());
        }
        if let Some(status) = filter.status {
            matching.insert("status", status.name());
        }
        if matching.is_empty() {
            query.insert("returns.id", doc! { "$exists": true });
        } else {
            query.insert("returns", doc! { "$elemMatch": matching });
        }
        self.list(
            query,
            doc! { "createdAt": -1, "_id": -1 },
            page.skip,
            page.limit,
        )
        .await
    }

    async fn list_returns_due(&self, now: Timestamp, limit: u32) -> Result<Vec<Order>> {
        let now = timestamp::to_bson(&now).map_err(to_core)?;
        self.list(
            doc! { "returnDue": { "$lte": now } },
            doc! { "returnDue": 1, "_id": 1 },
            0,
            limit,
        )
        .await
    }

    async fn list_payments_due(&self, now: Timestamp, limit: u32) -> Result<Vec<Order>> {
        let now = timestamp::to_bson(&now).map_err(to_core)?;
        self.list(
            doc! { "paymentDue": { "$lte": now } },
            doc! { "paymentDue": 1, "_id": 1 },
            0,
            limit,
        )
        .await
    }

    async fn list_by_shop(
        &self,
        shop: &ShopId,
        filter: ShopOrderFilter,
        page: Page,
    ) -> Result<Vec<Order>> {
        let mut query = doc! { "lines.shop_id": shop.as_str() };
        if let Some(status) = filter.line_status {
            let status = bson::to_bson(&status).map_err(to_core)?;
            query.insert(
                "lines",
                doc! { "$elemMatch": { "shop_id": shop.as_str(), "status": status } },
            );
        }
        if let Some(status) = filter.payment_status {
            query.insert("payment.status", status.name());
        }
        self.list(
            query,
            doc! { "createdAt": -1, "_id": -1 },
            page.skip,
            page.limit,
        )
        .await
    }
}
