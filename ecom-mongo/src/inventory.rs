//! [`InventoryRepo`] on the `Inventories` collection: one document per product (`_id` is the
//! product id) with `stock`, `sold` and the *open* holds only (`holds`), so a document stays
//! small whatever the sales. Every move of units is one `updateOne` whose filter carries the
//! guard: enough units, and the hold open (or not yet open) with that id and quantity.

use crate::error::{exists_as, out_of_range, to_core};
use crate::timestamp;
use async_trait::async_trait;
use bson::{doc, Bson, Document};
use ecom_core::clock::Timestamp;
use ecom_core::id::{OrderId, ProductId, ShopId};
use ecom_core::inventory::{Inventory, InventoryRepo, Reservation};
use ecom_core::{ConflictReason, Error, Result};
use futures::TryStreamExt;
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

/// Collection of inventories.
pub(crate) const INVENTORIES: &str = "Inventories";

/// Indexes of `Inventories`: by shop; by the opening time of open holds (recovery's scan).
pub(crate) fn indexes() -> Vec<IndexModel> {
    vec![
        IndexModel::builder()
            .keys(doc! { "shopId": 1 })
            .options(IndexOptions::builder().name("shop".to_owned()).build())
            .build(),
        IndexModel::builder()
            .keys(doc! { "holds.at": 1 })
            .options(
                IndexOptions::builder()
                    .name("open_holds".to_owned())
                    .build(),
            )
            .build(),
    ]
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HoldDoc {
    id: String,
    order_id: OrderId,
    quantity: i64,
    #[serde(with = "timestamp")]
    at: Timestamp,
}

impl HoldDoc {
    fn from_hold(h: &Reservation) -> Self {
        HoldDoc {
            id: h.id.clone(),
            order_id: h.order_id.clone(),
            quantity: i64::from(h.quantity),
            at: h.created_at,
        }
    }

    fn into_hold(self) -> Result<Reservation> {
        Ok(Reservation {
            id: self.id,
            order_id: self.order_id,
            quantity: u32::try_from(self.quantity).map_err(|_| out_of_range("hold quantity"))?,
            created_at: self.at,
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InventoryDoc {
    #[serde(rename = "_id")]
    product_id: ProductId,
    shop_id: ShopId,
    location: String,
    stock: i64,
    sold: i64,
    holds: Vec<HoldDoc>,
    #[serde(with = "timestamp")]
    created_at: Timestamp,
    #[serde(with = "timestamp")]
    updated_at: Timestamp,
}

impl InventoryDoc {
    fn from_inventory(i: &Inventory) -> Result<Self> {
        let too_large = |field: &str| Error::validation(field, "is too large");
        Ok(InventoryDoc {
            product_id: i.product_id.clone(),
            shop_id: i.shop_id.clone(),
            location: i.location.clone(),
            stock: i64::try_from(i.stock).map_err(|_| too_large("stock"))?,
            sold: i64::try_from(i.sold).map_err(|_| too_large("sold"))?,
            holds: i.reservations.iter().map(HoldDoc::from_hold).collect(),
            created_at: i.created_at,
            updated_at: i.updated_at,
        })
    }

    fn into_inventory(self) -> Result<Inventory> {
        let mut reservations = self
            .holds
            .into_iter()
            .map(HoldDoc::into_hold)
            .collect::<Result<Vec<_>>>()?;
        reservations.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(Inventory {
            product_id: self.product_id,
            shop_id: self.shop_id,
            location: self.location,
            stock: u64::try_from(self.stock).map_err(|_| out_of_range("stock"))?,
            sold: u64::try_from(self.sold).map_err(|_| out_of_range("sold"))?,
            reservations,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// The filter clause "hold `h` is open with exactly this quantity".
fn open_exactly(h: &Reservation) -> Document {
    doc! { "$elemMatch": { "id": h.id.as_str(), "quantity": i64::from(h.quantity) } }
}

fn units(holds: &[Reservation]) -> i64 {
    holds.iter().map(|h| i64::from(h.quantity)).sum()
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
            inventories: crate::collection(db, INVENTORIES),
        }
    }

    async fn find(&self, product_id: &ProductId) -> Result<Option<InventoryDoc>> {
        self.inventories
            .find_one(doc! { "_id": product_id.as_str() })
            .await
            .map_err(to_core)
    }

    /// Closes open holds, adding their units to `counter` (`stock` or `sold`); returns the
    /// units moved. All at once when every hold is open, else one by one.
    async fn close(
        &self,
        product_id: &ProductId,
        holds: &[Reservation],
        counter: &str,
    ) -> Result<u64> {
        if holds.is_empty() {
            return Ok(0);
        }
        if holds.len() > 1 {
            let (filter, update) = close_statement(product_id, holds, counter);
            let moved = self
                .inventories
                .update_one(filter, update)
                .await
                .map_err(to_core)?;
            if moved.modified_count == 1 {
                return u64::try_from(units(holds)).map_err(|_| out_of_range("units"));
            }
        }
        let mut moved_units = 0;
        for hold in holds {
            let mut inc = Document::new();
            inc.insert(counter, i64::from(hold.quantity));
            let moved = self
                .inventories
                .update_one(
                    doc! { "_id": product_id.as_str(), "holds": open_exactly(hold) },
                    doc! { "$inc": inc, "$pull": { "holds": { "id": hold.id.as_str() } } },
                )
                .await
                .map_err(to_core)?;
            if moved.modified_count == 1 {
                moved_units += u64::from(hold.quantity);
            }
        }
        Ok(moved_units)
    }
}

/// The conditional write of [`InventoryRepo::reserve`]: enough stock and none of these holds
/// open yet; take the units and open the holds.
fn reserve_statement(
    product_id: &ProductId,
    holds: &[Reservation],
) -> Result<(Document, Document)> {
    let sum = units(holds);
    let ids: Vec<&str> = holds.iter().map(|h| h.id.as_str()).collect();
    let latest = holds.iter().map(|h| h.created_at).max().unwrap_or_default();
    Ok((
        doc! {
            "_id": product_id.as_str(),
            "stock": { "$gte": sum },
            "holds.id": { "$nin": ids },
        },
        doc! {
            "$inc": { "stock": -sum },
            "$push": { "holds": { "$each": hold_docs(holds)? } },
            "$set": { "updatedAt": timestamp::to_bson(&latest).map_err(to_core)? },
        },
    ))
}

/// The write closing all of `holds` at once (each open with its quantity), adding their units
/// to `counter`.
fn close_statement(
    product_id: &ProductId,
    holds: &[Reservation],
    counter: &str,
) -> (Document, Document) {
    let all: Vec<Document> = holds.iter().map(open_exactly).collect();
    let ids: Vec<&str> = holds.iter().map(|h| h.id.as_str()).collect();
    let mut inc = Document::new();
    inc.insert(counter, units(holds));
    (
        doc! { "_id": product_id.as_str(), "holds": { "$all": all } },
        doc! { "$inc": inc, "$pull": { "holds": { "id": { "$in": ids } } } },
    )
}

fn hold_docs(holds: &[Reservation]) -> Result<Vec<Bson>> {
    holds
        .iter()
        .map(|h| bson::to_bson(&HoldDoc::from_hold(h)).map_err(to_core))
        .collect()
}

#[async_trait]
impl InventoryRepo for MongoInventory {
    async fn insert(&self, inventory: &Inventory) -> Result<()> {
        self.inventories
            .insert_one(InventoryDoc::from_inventory(inventory)?)
            .await
            .map_err(to_core)
            .map_err(|e| exists_as(e, "inventory"))?;
        Ok(())
    }

    async fn get(&self, product_id: &ProductId) -> Result<Option<Inventory>> {
        self.find(product_id)
            .await?
            .map(InventoryDoc::into_inventory)
            .transpose()
    }

    async fn delete(&self, product_id: &ProductId) -> Result<bool> {
        let deleted = self
            .inventories
            .delete_one(doc! { "_id": product_id.as_str() })
            .await
            .map_err(to_core)?;
        Ok(deleted.deleted_count == 1)
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
            .return_document(mongodb::options::ReturnDocument::After)
            .await
            .map_err(to_core)?
            .ok_or_else(|| Error::not_found("inventory"))?
            .into_inventory()
    }

    async fn reserve(&self, product_id: &ProductId, holds: &[Reservation]) -> Result<()> {
        if holds.is_empty() {
            return Ok(());
        }
        let (filter, update) = reserve_statement(product_id, holds)?;
        let reserved = self
            .inventories
            .update_one(filter, update)
            .await
            .map_err(to_core)?;
        if reserved.matched_count == 1 {
            return Ok(());
        }
        let exists = self
            .inventories
            .count_documents(doc! { "_id": product_id.as_str() })
            .await
            .map_err(to_core)?;
        if exists == 0 {
            return Err(Error::not_found("inventory"));
        }
        Err(Error::InsufficientStock {
            product_id: product_id.to_string(),
        })
    }

    async fn reserve_many(
        &self,
        batch: &[(ProductId, Vec<Reservation>)],
    ) -> Result<Vec<Result<()>>> {
        let statements = batch
            .iter()
            .map(|(product, holds)| {
                let (filter, update) = reserve_statement(product, holds)?;
                Ok(doc! { "q": filter, "u": update })
            })
            .collect::<Result<Vec<_>>>()?;
        let matched = crate::update_each(&self.inventories, statements).await?;
        if matched == batch.len() as u64 {
            return Ok(batch.iter().map(|_| Ok(())).collect());
        }
        // Some did not fit: read back which holds are open now.
        let ids: Vec<&str> = batch.iter().map(|(p, _)| p.as_str()).collect();
        let docs: Vec<InventoryDoc> = self
            .inventories
            .find(doc! { "_id": { "$in": ids } })
            .await
            .map_err(to_core)?
            .try_collect()
            .await
            .map_err(to_core)?;
        Ok(batch
            .iter()
            .map(
                |(product, holds)| match docs.iter().find(|d| &d.product_id == product) {
                    None => Err(Error::not_found("inventory")),
                    Some(doc) if holds.iter().all(|h| doc.holds.iter().any(|o| o.id == h.id)) => {
                        Ok(())
                    }
                    Some(_) => Err(Error::InsufficientStock {
                        product_id: product.to_string(),
                    }),
                },
            )
            .collect())
    }

    async fn settle_many(&self, batch: &[(ProductId, Vec<Reservation>)]) -> Result<()> {
        let statements: Vec<Document> = batch
            .iter()
            .map(|(product, holds)| {
                let (filter, update) = close_statement(product, holds, "sold");
                doc! { "q": filter, "u": update }
            })
            .collect();
        let matched = crate::update_each(&self.inventories, statements).await?;
        if matched < batch.len() as u64 {
            // Some holds were no longer open: settle what is left hold by hold.
            for (product, holds) in batch {
                self.close(product, holds, "sold").await?;
            }
        }
        Ok(())
    }

    async fn release(&self, product_id: &ProductId, holds: &[Reservation]) -> Result<u64> {
        self.close(product_id, holds, "stock").await
    }

    async fn settle(&self, product_id: &ProductId, holds: &[Reservation]) -> Result<u64> {
        self.close(product_id, holds, "sold").await
    }

    async fn unsettle(&self, product_id: &ProductId, hold: &Reservation) -> Result<()> {
        let quantity = i64::from(hold.quantity);
        let reopened = self
            .inventories
            .update_one(
                doc! {
                    "_id": product_id.as_str(),
                    "sold": { "$gte": quantity },
                    "holds.id": { "$ne": hold.id.as_str() },
                },
                doc! {
                    "$inc": { "sold": -quantity },
                    "$push": { "holds": bson::to_bson(&HoldDoc::from_hold(hold)).map_err(to_core)? },
                },
            )
            .await
            .map_err(to_core)?;
        if reopened.matched_count == 1 {
            return Ok(());
        }
        let current = self
            .find(product_id)
            .await?
            .ok_or_else(|| Error::not_found("inventory"))?;
        if current.holds.iter().any(|h| h.id == hold.id) {
            return Ok(());
        }
        Err(Error::Conflict {
            entity: "inventory",
            reason: ConflictReason::ReturnExceedsSold,
        })
    }

    async fn list_stale(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<(ProductId, Reservation)>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let before_text = timestamp::to_bson(&before).map_err(to_core)?;
        let docs: Vec<InventoryDoc> = self
            .inventories
            .find(doc! { "holds.at": { "$lt": before_text } })
            .limit(i64::from(limit))
            .await
            .map_err(to_core)?
            .try_collect()
            .await
            .map_err(to_core)?;
        let mut stale = Vec::new();
        for doc in docs {
            for hold in doc.holds {
                if hold.at < before {
                    stale.push((doc.product_id.clone(), hold.into_hold()?));
                }
            }
        }
        stale.sort_by(|a, b| (a.1.created_at, &a.1.id).cmp(&(b.1.created_at, &b.1.id)));
        stale.truncate(limit as usize);
        Ok(stale)
    }
}
