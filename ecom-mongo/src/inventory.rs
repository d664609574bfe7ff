//! [`InventoryRepo`] on the `Inventories` collection: one document per product (`_id` is the
//! product id), stock as an integer and the reservations as an embedded array. Every stock
//! change is one `findOneAndUpdate`/`updateOne` whose filter carries the guard.

use crate::error::{out_of_range, to_core};
use crate::timestamp;
use async_trait::async_trait;
use bson::doc;
use ecom_core::clock::Timestamp;
use ecom_core::id::{ProductId, ShopId};
use ecom_core::inventory::{Inventory, InventoryRepo, Reservation};
use ecom_core::{Error, Result};
use mongodb::options::{IndexOptions, ReturnDocument};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

/// Collection of inventories.
pub(crate) const INVENTORIES: &str = "Inventories";

/// Indexes of `Inventories`: by shop.
pub(crate) fn indexes() -> Vec<IndexModel> {
    vec![IndexModel::builder()
        .keys(doc! { "shopId": 1 })
        .options(IndexOptions::builder().name("shop".to_owned()).build())
        .build()]
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReservationDoc {
    id: String,
    quantity: i64,
    #[serde(with = "timestamp")]
    created_at: Timestamp,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InventoryDoc {
    #[serde(rename = "_id")]
    product_id: ProductId,
    shop_id: ShopId,
    location: String,
    stock: i64,
    reservations: Vec<ReservationDoc>,
    #[serde(with = "timestamp")]
    created_at: Timestamp,
    #[serde(with = "timestamp")]
    updated_at: Timestamp,
}

impl InventoryDoc {
    fn from_inventory(i: &Inventory) -> Result<Self> {
        Ok(InventoryDoc {
            product_id: i.product_id.clone(),
            shop_id: i.shop_id.clone(),
            location: i.location.clone(),
            stock: i64::try_from(i.stock)
                .map_err(|_| Error::validation("stock", "is too large"))?,
            reservations: i
                .reservations
                .iter()
                .map(|r| ReservationDoc {
                    id: r.id.clone(),
                    quantity: i64::from(r.quantity),
                    created_at: r.created_at,
                })
                .collect(),
            created_at: i.created_at,
            updated_at: i.updated_at,
        })
    }

    fn into_inventory(self) -> Result<Inventory> {
        let reservations = self
            .reservations
            .into_iter()
            .map(|r| {
                Ok(Reservation {
                    id: r.id,
                    quantity: u32::try_from(r.quantity)
                        .map_err(|_| out_of_range("reservation quantity"))?,
                    created_at: r.created_at,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Inventory {
            product_id: self.product_id,
            shop_id: self.shop_id,
            location: self.location,
            stock: u64::try_from(self.stock).map_err(|_| out_of_range("stock"))?,
            reservations,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// MongoDB [`InventoryRepo`] on the `Inventories` collection.
#[derive(Debug, Clone)]
pub struct MongoInventory {
    inventories: Collection<InventoryDoc>,
}

impl MongoInventory {
    /// The repository on `db`.
    pub fn new(db: &Database) -> Self {
        MongoInventory {
            inventories: db.collection(INVENTORIES),
        }
    }

    async fn find(&self, product_id: &ProductId) -> Result<Option<InventoryDoc>> {
        self.inventories
            .find_one(doc! { "_id": product_id.as_str() })
            .await
            .map_err(to_core)
    }
}

#[async_trait]
impl InventoryRepo for MongoInventory {
    async fn insert(&self, inventory: &Inventory) -> Result<()> {
        self.inventories
            .insert_one(InventoryDoc::from_inventory(inventory)?)
            .await
            .map_err(to_core)?;
        Ok(())
    }

    async fn get(&self, product_id: &ProductId) -> Result<Option<Inventory>> {
        self.find(product_id)
            .await?
            .map(InventoryDoc::into_inventory)
            .transpose()
    }

    async fn add_stock(
        &self,
        product_id: &ProductId,
        quantity: u32,
        location: Option<&str>,
        now: Timestamp,
    ) -> Result<Inventory> {
        let mut set = doc! { "updatedAt": timestamp::to_bson(&now).map_err(to_core)? };
        if let Some(location) = location {
            set.insert("location", location);
        }
        self.inventories
            .find_one_and_update(
                doc! { "_id": product_id.as_str() },
                doc! { "$inc": { "stock": i64::from(quantity) }, "$set": set },
            )
            .return_document(ReturnDocument::After)
            .await
            .map_err(to_core)?
            .ok_or_else(|| Error::not_found("inventory"))?
            .into_inventory()
    }

    async fn reserve(
        &self,
        product_id: &ProductId,
        quantity: u32,
        reservation_id: &str,
        now: Timestamp,
    ) -> Result<Inventory> {
        let quantity = i64::from(quantity);
        let reservation = bson::to_bson(&ReservationDoc {
            id: reservation_id.to_owned(),
            quantity,
            created_at: now,
        })
        .map_err(to_core)?;
        // One atomic step: enough stock and no reservation with this id yet.
        let reserved = self
            .inventories
            .find_one_and_update(
                doc! {
                    "_id": product_id.as_str(),
                    "stock": { "$gte": quantity },
                    "reservations.id": { "$ne": reservation_id },
                },
                doc! {
                    "$inc": { "stock": -quantity },
                    "$push": { "reservations": reservation },
                    "$set": { "updatedAt": timestamp::to_bson(&now).map_err(to_core)? },
                },
            )
            .return_document(ReturnDocument::After)
            .await
            .map_err(to_core)?;
        if let Some(doc) = reserved {
            return doc.into_inventory();
        }
        // The guard failed: say why, from the state after the failed write.
        let current = self
            .find(product_id)
            .await?
            .ok_or_else(|| Error::not_found("inventory"))?;
        if current.reservations.iter().any(|r| r.id == reservation_id) {
            return current.into_inventory();
        }
        Err(Error::InsufficientStock {
            product_id: product_id.to_string(),
        })
    }

    async fn release(&self, product_id: &ProductId, reservation_id: &str) -> Result<Option<u32>> {
        loop {
            let Some(current) = self.find(product_id).await? else {
                return Ok(None);
            };
            let Some(held) = current.reservations.iter().find(|r| r.id == reservation_id) else {
                return Ok(None);
            };
            let quantity = held.quantity;
            // Only the caller whose filter still sees this exact reservation puts its units back;
            // concurrent releases of the same id find nothing and report `None`.
            let released = self
                .inventories
                .update_one(
                    doc! {
                        "_id": product_id.as_str(),
                        "reservations": { "$elemMatch": { "id": reservation_id, "quantity": quantity } },
                    },
                    doc! {
                        "$inc": { "stock": quantity },
                        "$pull": { "reservations": { "id": reservation_id } },
                    },
                )
                .await
                .map_err(to_core)?;
            if released.modified_count == 1 {
                return u32::try_from(quantity)
                    .map(Some)
                    .map_err(|_| out_of_range("reservation quantity"));
            }
            // Lost a race: the reservation went away (next read says None) or was re-made with
            // another quantity (next attempt uses it).
        }
    }
}
