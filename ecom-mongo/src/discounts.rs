//! [`DiscountRepo`] on the `Discounts` collection.
//!
//! Codes are unique per shop among active discounts through a partial unique index on
//! `(shopId, code)` where `isActive: true`. Redemptions are an embedded array plus two guard
//! counters kept in the same document and changed in the same update: `usesCount` and
//! `userUses.<customerId>` (ids are 32 hex characters, safe as field names). A redemption is
//! one `findOneAndUpdate` whose filter says "active, below both limits, not yet redeemed by
//! this id", so the limits hold under any concurrency.

use crate::error::{conflict_as, out_of_range, to_core};
use crate::timestamp;
use async_trait::async_trait;
use bson::{doc, Document};
use ecom_core::clock::Timestamp;
use ecom_core::discount::{AppliesTo, Discount, DiscountRepo, DiscountValue, Redemption};
use ecom_core::id::{CustomerId, DiscountId, ShopId};
use ecom_core::page::Page;
use ecom_core::{Error, Money, Result};
use futures::TryStreamExt;
use mongodb::options::{IndexOptions, ReturnDocument};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Collection of discounts.
pub(crate) const DISCOUNTS: &str = "Discounts";

/// How often a redemption is retried after the limits changed under it.
const MAX_ATTEMPTS: usize = 64;

/// Indexes of `Discounts`: unique code per shop among active discounts (which also serves the
/// lookups by code and the shop's list).
pub(crate) fn indexes() -> Vec<IndexModel> {
    vec![IndexModel::builder()
        .keys(doc! { "shopId": 1, "code": 1 })
        .options(
            IndexOptions::builder()
                .name("shop_active_code_unique".to_owned())
                .unique(true)
                .partial_filter_expression(doc! { "isActive": true })
                .build(),
        )
        .build()]
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RedemptionDoc {
    id: String,
    customer_id: CustomerId,
    #[serde(with = "timestamp")]
    at: Timestamp,
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
    redemptions: Vec<RedemptionDoc>,
    /// Guard counter: `redemptions.len()`.
    uses_count: i64,
    /// Guard counters: redemptions per customer id.
    user_uses: BTreeMap<String, i64>,
    #[serde(with = "timestamp")]
    created_at: Timestamp,
    #[serde(with = "timestamp")]
    updated_at: Timestamp,
}

impl DiscountDoc {
    fn from_discount(d: &Discount) -> Self {
        let mut user_uses = BTreeMap::new();
        for r in &d.redemptions {
            *user_uses
                .entry(r.customer_id.as_str().to_owned())
                .or_insert(0) += 1;
        }
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
            max_uses_per_user: i64::from(d.max_uses_per_user),
            min_order_value: d.min_order_value,
            is_active: d.is_active,
            applies_to: d.applies_to.clone(),
            redemptions: d
                .redemptions
                .iter()
                .map(|r| RedemptionDoc {
                    id: r.id.clone(),
                    customer_id: r.customer_id.clone(),
                    at: r.at,
                })
                .collect(),
            uses_count: i64::try_from(d.redemptions.len()).unwrap_or(i64::MAX),
            user_uses,
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
            max_uses_per_user: u32::try_from(self.max_uses_per_user)
                .map_err(|_| out_of_range("maxUsesPerUser"))?,
            min_order_value: self.min_order_value,
            is_active: self.is_active,
            applies_to: self.applies_to,
            redemptions: self
                .redemptions
                .into_iter()
                .map(|r| Redemption {
                    id: r.id,
                    customer_id: r.customer_id,
                    at: r.at,
                })
                .collect(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }

    fn uses_by(&self, customer: &CustomerId) -> i64 {
        self.user_uses.get(customer.as_str()).copied().unwrap_or(0)
    }
}

fn user_uses_field(customer: &CustomerId) -> String {
    format!("userUses.{}", customer.as_str())
}

/// MongoDB [`DiscountRepo`] on the `Discounts` collection.
#[derive(Debug, Clone)]
pub struct MongoDiscounts {
    discounts: Collection<DiscountDoc>,
}

impl MongoDiscounts {
    /// The repository on `db`.
    pub fn new(db: &Database) -> Self {
        MongoDiscounts {
            discounts: db.collection(DISCOUNTS),
        }
    }

    async fn find(&self, filter: Document) -> Result<Option<DiscountDoc>> {
        self.discounts.find_one(filter).await.map_err(to_core)
    }
}

#[async_trait]
impl DiscountRepo for MongoDiscounts {
    async fn insert(&self, discount: &Discount) -> Result<()> {
        self.discounts
            .insert_one(DiscountDoc::from_discount(discount))
            .await
            .map_err(to_core)
            .map_err(|e| {
                conflict_as(
                    e,
                    &format!("discount code {} already exists", discount.code),
                )
            })?;
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

    async fn redeem(&self, id: &DiscountId, redemption: &Redemption) -> Result<Discount> {
        let entry = bson::to_bson(&RedemptionDoc {
            id: redemption.id.clone(),
            customer_id: redemption.customer_id.clone(),
            at: redemption.at,
        })
        .map_err(to_core)?;
        let per_user = user_uses_field(&redemption.customer_id);
        for _ in 0..MAX_ATTEMPTS {
            let current = self
                .find(doc! { "_id": id.as_str() })
                .await?
                .ok_or_else(|| Error::not_found("discount"))?;
            if current.redemptions.iter().any(|r| r.id == redemption.id) {
                return current.into_discount();
            }
            if !current.is_active {
                return Err(Error::DiscountNotApplicable(
                    "the code is not active".into(),
                ));
            }
            if current.uses_count >= current.max_uses {
                return Err(Error::DiscountNotApplicable("the code is used up".into()));
            }
            if current.uses_by(&redemption.customer_id) >= current.max_uses_per_user {
                return Err(Error::DiscountNotApplicable(
                    "you have used this code the maximum number of times".into(),
                ));
            }
            // The limits read above are part of the guard, so a concurrent change of them makes
            // this write miss and the loop re-decides on fresh state.
            let mut filter = doc! {
                "_id": id.as_str(),
                "isActive": true,
                "maxUses": current.max_uses,
                "maxUsesPerUser": current.max_uses_per_user,
                "usesCount": { "$lt": current.max_uses },
                "redemptions.id": { "$ne": redemption.id.as_str() },
            };
            filter.insert(
                per_user.as_str(),
                doc! { "$not": { "$gte": current.max_uses_per_user } },
            );
            let mut inc = doc! { "usesCount": 1_i64 };
            inc.insert(per_user.as_str(), 1_i64);
            let redeemed = self
                .discounts
                .find_one_and_update(
                    filter,
                    doc! { "$inc": inc, "$push": { "redemptions": entry.clone() } },
                )
                .return_document(ReturnDocument::After)
                .await
                .map_err(to_core)?;
            if let Some(doc) = redeemed {
                return doc.into_discount();
            }
        }
        Err(Error::Busy(
            "the discount is being redeemed concurrently".into(),
        ))
    }

    async fn unredeem(&self, id: &DiscountId, redemption_id: &str) -> Result<bool> {
        loop {
            let Some(current) = self.find(doc! { "_id": id.as_str() }).await? else {
                return Ok(false);
            };
            let Some(held) = current.redemptions.iter().find(|r| r.id == redemption_id) else {
                return Ok(false);
            };
            let customer = held.customer_id.clone();
            let mut inc = doc! { "usesCount": -1_i64 };
            inc.insert(user_uses_field(&customer), -1_i64);
            let removed = self
                .discounts
                .update_one(
                    doc! {
                        "_id": id.as_str(),
                        "redemptions": { "$elemMatch": {
                            "id": redemption_id,
                            "customerId": customer.as_str(),
                        } },
                    },
                    doc! { "$inc": inc, "$pull": { "redemptions": { "id": redemption_id } } },
                )
                .await
                .map_err(to_core)?;
            if removed.modified_count == 1 {
                return Ok(true);
            }
            // Lost a race: the redemption is gone (next read says false) or was re-made.
        }
    }
}
