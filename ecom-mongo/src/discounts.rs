//! [`DiscountRepo`] on the `Discounts` and `DiscountUses` collections.
//!
//! Codes are unique per shop among active discounts through a partial unique index on
//! `(shopId, code)` where `isActive: true`. A code's document counts its uses (`uses`, and
//! `left` = `maxUses - uses`, the guard of a redemption) and holds its *open* uses only
//! (`open`: checkouts and returns in flight), so it stays small whatever the number of uses.
//! Each customer's uses of a code are a document of their own in `DiscountUses`
//! (`_id: "<code id>:<customer id>"`), listing the orders that hold them; its guard is "fewer
//! than `maxUsesPerUser` orders listed", tested as `orders.<max - 1>` not existing.
//!
//! A redemption writes the code's document first (its open use is the record recovery finds)
//! and the customer's second; giving a use back writes the customer's document first and the
//! code's second. A crash between the two leaves an open use, which recovery finishes.

use crate::collection::{collection, index, partial, stale_entries};
use crate::error::{exists_as, out_of_range, to_core};
use crate::timestamp;
use async_trait::async_trait;
use bson::{doc, Document};
use ecom_core::clock::Timestamp;
use ecom_core::discount::{AppliesTo, Discount, DiscountRepo, DiscountValue, Redemption};
use ecom_core::event::Event;
use ecom_core::id::{CustomerId, DiscountId, OrderId, ShopId};
use ecom_core::page::Page;
use ecom_core::{Error, Money, Result};
use futures::TryStreamExt;

use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

/// Collection of discounts.
pub(crate) const DISCOUNTS: &str = "Discounts";

/// Indexes of `Discounts`: unique code per shop among active discounts (which also serves the
/// lookups by code and the shop's list); open uses by their opening time (recovery's scan).
pub(crate) fn indexes() -> Vec<IndexModel> {
    vec![
        partial(
            "shop_active_code_unique",
            doc! { "shopId": 1, "code": 1 },
            doc! { "isActive": true },
            true,
        ),
        index("open_uses", doc! { "open.at": 1 }),
    ]
}

/// How often a redemption asks again while the code's last uses are open.
const USED_UP_ATTEMPTS: u64 = 8;

/// Collection of each customer's uses of a code (no index beyond `_id`, the (code, customer)
/// pair).
pub(crate) const DISCOUNT_USES: &str = "DiscountUses";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UseDoc {
    id: String,
    order_id: OrderId,
    customer_id: CustomerId,
    #[serde(with = "timestamp")]
    at: Timestamp,
}

impl UseDoc {
    fn from_use(r: &Redemption) -> Self {
        UseDoc {
            id: r.id.clone(),
            order_id: r.order_id.clone(),
            customer_id: r.customer_id.clone(),
            at: r.at,
        }
    }

    fn into_use(self) -> Redemption {
        Redemption {
            id: self.id,
            order_id: self.order_id,
            customer_id: self.customer_id,
            at: self.at,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DiscountDoc {
    #[serde(rename = "_id")]
    id: DiscountId,
    shop_id: ShopId,
    code: String,
    name: String,
    description: String,
    /// `{ type: "percentage", value: 1000 }` or `{ type: "fixed", value: { minor, currency } }`.
    value: DiscountValue,
    #[serde(with = "timestamp")]
    starts_at: Timestamp,
    #[serde(with = "timestamp")]
    ends_at: Timestamp,
    max_uses: i64,
    max_uses_per_user: i64,
    min_order_value: Money,
    is_active: bool,
    applies_to: AppliesTo,
    /// Uses taken (placed orders and open uses).
    uses: i64,
    /// Guard counter: `max_uses - uses`.
    left: i64,
    /// Open uses only.
    open: Vec<UseDoc>,
    /// Set once every use was taken (and its event made).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    exhausted: bool,
    /// Events waiting for the relay.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    outbox: Vec<Event>,
    #[serde(with = "timestamp")]
    created_at: Timestamp,
    #[serde(with = "timestamp")]
    updated_at: Timestamp,
}

impl DiscountDoc {
    fn from_discount(d: &Discount) -> Self {
        DiscountDoc {
            id: d.id.clone(),
            shop_id: d.shop_id.clone(),
            code: d.code.clone(),
            name: d.name.clone(),
            description: d.description.clone(),
            value: d.value,
            starts_at: d.starts_at,
            ends_at: d.ends_at,
            max_uses: i64::from(d.max_uses),
            max_uses_per_user: i64::from(d.max_uses_per_customer),
            min_order_value: d.min_order_value,
            is_active: d.is_active,
            applies_to: d.applies_to.clone(),
            uses: i64::from(d.uses),
            left: i64::from(d.max_uses) - i64::from(d.uses),
            open: d.open.iter().map(UseDoc::from_use).collect(),
            exhausted: false,
            outbox: Vec::new(),
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }

    fn into_discount(self) -> Result<Discount> {
        Ok(Discount {
            id: self.id,
            shop_id: self.shop_id,
            code: self.code,
            name: self.name,
            description: self.description,
            value: self.value,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            max_uses: u32::try_from(self.max_uses).map_err(|_| out_of_range("maxUses"))?,
            max_uses_per_customer: u32::try_from(self.max_uses_per_user)
                .map_err(|_| out_of_range("maxUsesPerUser"))?,
            min_order_value: self.min_order_value,
            is_active: self.is_active,
            applies_to: self.applies_to,
            uses: u32::try_from(self.uses).map_err(|_| out_of_range("uses"))?,
            open: self.open.into_iter().map(UseDoc::into_use).collect(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// One customer's uses of one code.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CustomerUsesDoc {
    #[serde(rename = "_id")]
    id: String,
    #[serde(default)]
    orders: Vec<OrderId>,
}

fn customer_uses_id(discount: &DiscountId, customer: &CustomerId) -> String {
    format!("{discount}:{customer}")
}

/// MongoDB [`DiscountRepo`] on the `Discounts` and `DiscountUses` collections.
#[derive(Debug, Clone)]
pub struct MongoDiscounts {
    discounts: Collection<DiscountDoc>,
    uses: Collection<CustomerUsesDoc>,
}

impl MongoDiscounts {
    /// The repository on `db`.
    pub fn new(db: &Database) -> Self {
        MongoDiscounts {
            discounts: collection(db, DISCOUNTS),
            uses: collection(db, DISCOUNT_USES),
        }
    }

    async fn find(&self, filter: Document) -> Result<Option<DiscountDoc>> {
        self.discounts.find_one(filter).await.map_err(to_core)
    }

    async fn customer_uses(&self, id: &DiscountId, customer: &CustomerId) -> Result<Vec<OrderId>> {
        Ok(self
            .uses
            .find_one(doc! { "_id": customer_uses_id(id, customer) })
            .await
            .map_err(to_core)?
            .map(|d| d.orders)
            .unwrap_or_default())
    }

    /// Closes the open use `id`, changing the counts by `inc`; true if it was open.
    async fn close(&self, discount: &DiscountId, id: &str, inc: Document) -> Result<bool> {
        let mut update = doc! { "$pull": { "open": { "id": id } } };
        if !inc.is_empty() {
            update.insert("$inc", inc);
        }
        let closed = self
            .discounts
            .update_one(doc! { "_id": discount.as_str(), "open.id": id }, update)
            .await
            .map_err(to_core)?;
        Ok(closed.modified_count == 1)
    }
}

#[async_trait]
impl DiscountRepo for MongoDiscounts {
    async fn insert(&self, discount: &Discount) -> Result<()> {
        self.discounts
            .insert_one(DiscountDoc::from_discount(discount))
            .await
            .map_err(to_core)
            .map_err(|e| exists_as(e, "discount code"))?;
        Ok(())
    }

    async fn get(&self, id: &DiscountId) -> Result<Option<Discount>> {
        self.find(doc! { "_id": id.as_str() })
            .await?
            .map(DiscountDoc::into_discount)
            .transpose()
    }

    async fn find_active_by_code(&self, shop_id: &ShopId, code: &str) -> Result<Option<Discount>> {
        self.find(doc! { "shopId": shop_id.as_str(), "code": code, "isActive": true })
            .await?
            .map(DiscountDoc::into_discount)
            .transpose()
    }

    async fn list_active(&self, shop_id: &ShopId, page: Page) -> Result<Vec<Discount>> {
        if page.limit == 0 {
            return Ok(Vec::new());
        }
        let docs: Vec<DiscountDoc> = self
            .discounts
            .find(doc! { "shopId": shop_id.as_str(), "isActive": true })
            .sort(doc! { "_id": -1 })
            .skip(page.skip)
            .limit(i64::from(page.limit))
            .await
            .map_err(to_core)?
            .try_collect()
            .await
            .map_err(to_core)?;
        docs.into_iter().map(DiscountDoc::into_discount).collect()
    }

    async fn delete(&self, shop_id: &ShopId, code: &str) -> Result<bool> {
        let deleted = self
            .discounts
            .delete_one(doc! { "shopId": shop_id.as_str(), "code": code, "isActive": true })
            .await
            .map_err(to_core)?;
        Ok(deleted.deleted_count == 1)
    }

    async fn uses_by(&self, id: &DiscountId, customer: &CustomerId) -> Result<u32> {
        let n = self.customer_uses(id, customer).await?.len();
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn orders_using(&self, id: &DiscountId, customer: &CustomerId) -> Result<Vec<OrderId>> {
        self.customer_uses(id, customer).await
    }

    async fn redeem(&self, id: &DiscountId, use_: &Redemption) -> Result<()> {
        let entry = bson::to_bson(&UseDoc::from_use(use_)).map_err(to_core)?;
        let at = timestamp::to_bson(&use_.at).map_err(to_core)?;
        // 1. The code: active, a use left, this use not open yet. Returns the per-user limit.
        // A code whose last uses are open (checkouts in flight, some of which may give theirs
        // back at once, e.g. refused at step 2) is asked again a few times before refusing.
        let mut attempt = 0;
        let per_user = loop {
            let taken = self
                .discounts
                .clone_with_type::<Document>()
                .find_one_and_update(
                    doc! {
                        "_id": id.as_str(),
                        "isActive": true,
                        "startsAt": { "$lte": at.clone() },
                        "endsAt": { "$gt": at.clone() },
                        "left": { "$gt": 0_i64 },
                        "open.id": { "$ne": use_.id.as_str() },
                    },
                    doc! { "$inc": { "left": -1_i64, "uses": 1_i64 }, "$push": { "open": entry.clone() } },
                )
                .projection(doc! { "maxUsesPerUser": 1 })
                .await
                .map_err(to_core)?;
            if let Some(doc) = taken {
                break doc
                    .get_i64("maxUsesPerUser")
                    .map_err(|_| out_of_range("maxUsesPerUser"))?;
            }
            let current = self
                .find(doc! { "_id": id.as_str() })
                .await?
                .ok_or_else(|| Error::not_found("discount"))?;
            if current.open.iter().any(|u| u.id == use_.id) {
                return Ok(());
            }
            if !current.is_active {
                return Err(Error::DiscountNotApplicable(
                    "the code is not active".into(),
                ));
            }
            if !(current.starts_at <= use_.at && use_.at < current.ends_at) {
                return Err(Error::DiscountNotApplicable(
                    "the code is not valid at this time".into(),
                ));
            }
            attempt += 1;
            if current.open.is_empty() || attempt >= USED_UP_ATTEMPTS {
                return Err(Error::DiscountNotApplicable("the code is used up".into()));
            }
            tokio::time::sleep(std::time::Duration::from_millis(2 * attempt)).await;
        };
        // 2. The customer: fewer than `per_user` orders listed, this one not yet.
        let below_limit = format!("orders.{}", per_user.saturating_sub(1).max(0));
        let mut filter = doc! {
            "_id": customer_uses_id(id, &use_.customer_id),
            "orders": { "$ne": use_.order_id.as_str() },
        };
        filter.insert(below_limit, doc! { "$exists": false });
        let counted = self
            .uses
            .update_one(
                filter,
                doc! { "$push": { "orders": use_.order_id.as_str() } },
            )
            .upsert(true)
            .await
            .map_err(to_core);
        match counted {
            Ok(_) => Ok(()),
            Err(Error::AlreadyExists { .. }) => {
                let held = self.customer_uses(id, &use_.customer_id).await?;
                if held.contains(&use_.order_id) {
                    return Ok(());
                }
                self.close(id, &use_.id, doc! { "left": 1_i64, "uses": -1_i64 })
                    .await?;
                Err(Error::DiscountNotApplicable(
                    "you have used this code the maximum number of times".into(),
                ))
            }
            Err(e) => Err(e),
        }
    }

    async fn release(&self, id: &DiscountId, use_: &Redemption) -> Result<bool> {
        let open = self
            .find(doc! { "_id": id.as_str(), "open.id": use_.id.as_str() })
            .await?
            .is_some();
        if !open {
            return Ok(false);
        }
        self.uses
            .update_one(
                doc! { "_id": customer_uses_id(id, &use_.customer_id) },
                doc! { "$pull": { "orders": use_.order_id.as_str() } },
            )
            .await
            .map_err(to_core)?;
        self.close(id, &use_.id, doc! { "left": 1_i64, "uses": -1_i64 })
            .await
    }

    async fn settle(&self, id: &DiscountId, use_: &Redemption) -> Result<bool> {
        self.close(id, &use_.id, Document::new()).await
    }

    async fn settle_many(&self, id: &DiscountId, uses: &[Redemption]) -> Result<u32> {
        // Settling keeps the counts: one `$pull` of every id, whichever are still open.
        let ids: Vec<&str> = uses.iter().map(|u| u.id.as_str()).collect();
        let before = self
            .discounts
            .clone_with_type::<Document>()
            .find_one_and_update(
                doc! { "_id": id.as_str(), "open.id": { "$in": &ids } },
                doc! { "$pull": { "open": { "id": { "$in": &ids } } } },
            )
            .projection(doc! { "open.id": 1 })
            .await
            .map_err(to_core)?;
        let was_open = before
            .as_ref()
            .and_then(|d| d.get_array("open").ok())
            .map_or(0, |open| {
                open.iter()
                    .filter_map(|u| u.as_document()?.get_str("id").ok())
                    .filter(|u| ids.contains(u))
                    .count()
            });
        Ok(u32::try_from(was_open).unwrap_or(u32::MAX))
    }

    async fn unsettle(&self, id: &DiscountId, use_: &Redemption) -> Result<()> {
        let entry = bson::to_bson(&UseDoc::from_use(use_)).map_err(to_core)?;
        let reopened = self
            .discounts
            .update_one(
                doc! { "_id": id.as_str(), "open.id": { "$ne": use_.id.as_str() } },
                doc! { "$push": { "open": entry } },
            )
            .await
            .map_err(to_core)?;
        if reopened.matched_count == 1 {
            return Ok(());
        }
        match self.find(doc! { "_id": id.as_str() }).await? {
            Some(_) => Ok(()),
            None => Err(Error::not_found("discount")),
        }
    }

    async fn list_stale(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<(DiscountId, Redemption)>> {
        stale_entries(
            &self.discounts,
            "open.at",
            before,
            limit,
            |doc: DiscountDoc| {
                let id = doc.id;
                Ok(doc
                    .open
                    .into_iter()
                    .map(|u| {
                        let use_ = u.into_use();
                        (use_.at, use_.id.clone(), (id.clone(), use_))
                    })
                    .collect())
            },
        )
        .await
    }

    async fn mark_exhausted(&self, id: &DiscountId, event: &Event) -> Result<bool> {
        let event = bson::to_bson(event).map_err(Error::backend)?;
        let marked = self
            .discounts
            .update_one(
                doc! {
                    "_id": id.as_str(),
                    "left": { "$lte": 0_i64 },
                    "exhausted": { "$ne": true },
                },
                doc! { "$set": { "exhausted": true }, "$push": { "outbox": event } },
            )
            .await
            .map_err(to_core)?;
        Ok(marked.modified_count == 1)
    }
}
