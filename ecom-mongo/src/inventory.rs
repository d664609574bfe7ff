//! [`InventoryRepo`] on the `Inventories` collection: one document per product (`_id` is the
//! product id) with `stock`, `sold` and the *open* holds only (`holds`), so a document stays
//! small whatever the sales. Every move of units is one `updateOne` whose filter carries the
//! guard: enough units, and the hold open (or not yet open) with that id and quantity.
//!
//! # Adjustments
//!
//! The history is the `StockAdjustments` collection (one document per adjustment, `_id` its
//! id), without a multi-document transaction, so it works on a standalone server too. Each
//! inventory document counts the adjustments ever applied to it (`adjustSeq`) and keeps a short
//! journal of applied adjustments not yet copied into the history (`adjusting`). An adjustment
//! is one conditional write of the inventory document (an update pipeline): at the `adjustSeq`
//! read just before, with the id not in the journal and (going down) enough free stock, it sets
//! the stock, increments `adjustSeq` and appends the record, with the delta and the stock after
//! computed by the server from the stock it changes, to the journal. Then the record is copied
//! into the history (an upsert by id, so copying twice is once) and pulled from the journal.
//! Whoever touches the product's adjustments next copies what a failed copy or a dead process
//! left in the journal first, and a listing does the same before it reads, so a record is never
//! lost, and once an adjustment has returned it is listed.
//!
//! An id is applied once: a caller first copies the journal, then looks the id up in the
//! history, then writes at the `adjustSeq` it read before both. If the same id was applied
//! meanwhile, `adjustSeq` moved and the write misses; the caller starts over and finds it.
//! Concurrent adjustments of one product are serialized the same way (each round, one wins;
//! the others start over), while checkouts never touch `adjustSeq` and do not collide with them.
//!
//! The position of an adjustment in its product's history is its `seq` (the `adjustSeq` it
//! made), so newest first is `seq` descending (index `(productId, seq desc)`), and keeping the
//! newest [`ADJUSTMENT_HISTORY`] is deleting `seq <= adjustSeq - ADJUSTMENT_HISTORY`, done by
//! each copy; a listing also reads only above that line.

use crate::collection::{collection, index, partial, stale_entries, update_each};
use crate::error::{exists_as, out_of_range, to_core};
use crate::timestamp;
use async_trait::async_trait;
use bson::{doc, Bson, Document};
use ecom_core::clock::Timestamp;
use ecom_core::event::{adjusted, Event};
use ecom_core::id::{AdjustmentId, OrderId, ProductId, ShopId};
use ecom_core::inventory::{
    Adjusted, Inventory, InventoryRepo, NewAdjustment, Reservation, StockAdjustment, StockChange,
    StockState, ADJUSTMENT_HISTORY,
};
use ecom_core::page::Page;
use ecom_core::{ConflictReason, Error, Result};
use futures::TryStreamExt;

use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

/// Collection of inventories.
pub(crate) const INVENTORIES: &str = "Inventories";
/// Collection of the adjustments' history.
pub(crate) const ADJUSTMENTS: &str = "StockAdjustments";

/// How often one adjustment starts over (other adjustments of the product won each round)
/// before it gives up with [`Error::Busy`].
const ADJUST_ROUNDS: u32 = 64;

/// Indexes of `StockAdjustments`: a product's history, newest first.
pub(crate) fn adjustment_indexes() -> Vec<IndexModel> {
    vec![index("product_newest", doc! { "productId": 1, "seq": -1 })]
}

/// Indexes of `Inventories`: by shop; by free stock (the in-stock filter); a model's record by
/// its product (units sold per product); by the opening time of open holds (recovery's scan).
pub(crate) fn indexes() -> Vec<IndexModel> {
    vec![
        index("shop", doc! { "shopId": 1 }),
        partial(
            "models_of_product",
            doc! { "modelOf": 1 },
            doc! { "modelOf": { "$exists": true } },
            false,
        ),
        index("open_holds", doc! { "holds.at": 1 }),
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
    /// For a model's record, its product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    model_of: Option<ProductId>,
    shop_id: ShopId,
    location: String,
    stock: i64,
    sold: i64,
    /// Units returned damaged (absent: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    damaged: i64,
    holds: Vec<HoldDoc>,
    /// A removed model's record (absent: on sale).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    retired: bool,
    #[serde(with = "timestamp")]
    created_at: Timestamp,
    #[serde(with = "timestamp")]
    updated_at: Timestamp,
    /// Adjustments ever applied (absent: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    adjust_seq: i64,
    /// Applied adjustments not yet copied into the history.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    adjusting: Vec<AdjustmentDoc>,
    /// Events waiting for the relay.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    outbox: Vec<Event>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// An adjustment, in the journal of its inventory document (`productId` implied) and in
/// `StockAdjustments`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdjustmentDoc {
    #[serde(alias = "_id")]
    id: AdjustmentId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    product_id: Option<ProductId>,
    seq: i64,
    model_id: Option<String>,
    delta: i64,
    stock_after: i64,
    reason: String,
    by: ShopId,
    #[serde(with = "timestamp")]
    at: Timestamp,
}

impl AdjustmentDoc {
    fn into_adjustment(self, product_id: &ProductId) -> Result<StockAdjustment> {
        Ok(StockAdjustment {
            id: self.id,
            product_id: product_id.clone(),
            model_id: self.model_id.as_deref().map(ProductId::parse).transpose()?,
            delta: self.delta,
            stock_after: u64::try_from(self.stock_after)
                .map_err(|_| out_of_range("adjustment stock"))?,
            reason: self.reason,
            by: self.by,
            created_at: self.at,
        })
    }

    /// The history document of this journal entry of `product_id`'s inventory.
    fn history(&self, product_id: &ProductId) -> Result<Document> {
        let mut history = bson::to_document(&AdjustmentDoc {
            product_id: Some(product_id.clone()),
            ..self.clone()
        })
        .map_err(to_core)?;
        if let Some(id) = history.remove("id") {
            history.insert("_id", id);
        }
        Ok(history)
    }
}

impl InventoryDoc {
    fn from_inventory(i: &Inventory) -> Result<Self> {
        let too_large = |field: &str| Error::validation(field, "is too large");
        Ok(InventoryDoc {
            product_id: i.product_id.clone(),
            model_of: i.model_of.clone(),
            shop_id: i.shop_id.clone(),
            location: i.location.clone(),
            stock: i64::try_from(i.stock).map_err(|_| too_large("stock"))?,
            sold: i64::try_from(i.sold).map_err(|_| too_large("sold"))?,
            damaged: i64::try_from(i.damaged).map_err(|_| too_large("damaged"))?,
            holds: i.reservations.iter().map(HoldDoc::from_hold).collect(),
            retired: i.retired,
            created_at: i.created_at,
            updated_at: i.updated_at,
            adjust_seq: 0,
            adjusting: Vec::new(),
            outbox: Vec::new(),
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
            model_of: self.model_of,
            shop_id: self.shop_id,
            location: self.location,
            stock: u64::try_from(self.stock).map_err(|_| out_of_range("stock"))?,
            sold: u64::try_from(self.sold).map_err(|_| out_of_range("sold"))?,
            damaged: u64::try_from(self.damaged).map_err(|_| out_of_range("damaged"))?,
            reservations,
            retired: self.retired,
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

/// MongoDB [`InventoryRepo`] on the `Inventories` collection, with the adjustments' history in
/// `StockAdjustments`.
#[derive(Debug, Clone)]
pub struct MongoInventory {
    inventories: Collection<InventoryDoc>,
    adjustments: Collection<AdjustmentDoc>,
}

impl MongoInventory {
    /// The `projection` of the stock documents `filter` selects.
    async fn fields(&self, filter: Document, projection: Document) -> Result<Vec<Document>> {
        self.inventories
            .clone_with_type::<Document>()
            .find(filter)
            .projection(projection)
            .await
            .map_err(to_core)?
            .try_collect()
            .await
            .map_err(to_core)
    }

    /// The repository on `db`.
    pub fn new(db: &Database) -> Self {
        MongoInventory {
            inventories: collection(db, INVENTORIES),
            adjustments: collection(db, ADJUSTMENTS),
        }
    }

    async fn existing(&self, product_id: &ProductId) -> Result<InventoryDoc> {
        self.find(product_id)
            .await?
            .ok_or_else(|| Error::not_found("inventory"))
    }

    /// Copies `entries` of the journal of `product_id`'s inventory into the history (once
    /// each, whoever copies), drops what falls out of the history's bound, and pulls them from
    /// the journal.
    async fn copy_journal(&self, product_id: &ProductId, entries: &[AdjustmentDoc]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        for entry in entries {
            let mut history = entry.history(product_id)?;
            history.remove("_id");
            let copied = self
                .adjustments
                .update_one(
                    doc! { "_id": entry.id.as_str() },
                    doc! { "$setOnInsert": history },
                )
                .upsert(true)
                .await
                .map_err(to_core);
            match copied {
                // Two copies raced to insert it: it is there.
                Ok(_) | Err(Error::AlreadyExists { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let newest = entries.iter().map(|e| e.seq).max().unwrap_or(0);
        let bound = history_bound();
        if newest > bound {
            self.adjustments
                .delete_many(doc! {
                    "productId": product_id.as_str(),
                    "seq": { "$lte": newest - bound },
                })
                .await
                .map_err(to_core)?;
        }
        // Each entry leaves the journal in the write that puts its `stock.adjusted` event in the
        // outbox: the entry was written with the change, so the event exists if and only if the
        // adjustment was applied (the event's id is the adjustment's: a second copy of an
        // entry another copy moved finds nothing to move).
        for entry in entries {
            let adjustment = entry.clone().into_adjustment(product_id)?;
            let event = bson::to_bson(&adjusted(
                &adjustment,
                u64::try_from(entry.seq).unwrap_or(0),
            ))
            .map_err(Error::backend)?;
            self.inventories
                .update_one(
                    doc! { "_id": product_id.as_str(), "adjusting.id": entry.id.as_str() },
                    doc! {
                        "$pull": { "adjusting": { "id": entry.id.as_str() } },
                        "$push": { "outbox": event },
                    },
                )
                .await
                .map_err(to_core)?;
        }
        Ok(())
    }

    /// The conditional write of an adjustment: at `seq`, with its id not in the journal and
    /// (going down) enough free stock, sets the stock and appends the record (delta and stock
    /// after computed from the stock it changes) to the journal. The document after, or `None`
    /// if the guard failed.
    async fn apply(&self, adjustment: &NewAdjustment, seq: i64) -> Result<Option<InventoryDoc>> {
        let mut filter = doc! {
            "_id": adjustment.product_id.as_str(),
            "adjusting.id": { "$ne": adjustment.id.as_str() },
        };
        if seq == 0 {
            filter.insert("adjustSeq", doc! { "$in": [Bson::Null, 0_i64] });
        } else {
            filter.insert("adjustSeq", seq);
        }
        let (stock, delta) = match adjustment.change {
            StockChange::Delta(delta) => {
                if delta < 0 {
                    filter.insert("stock", doc! { "$gte": delta.saturating_neg() });
                }
                (
                    Bson::Document(doc! { "$add": ["$stock", delta] }),
                    Bson::Int64(delta),
                )
            }
            StockChange::Set(units) => {
                let units =
                    i64::try_from(units).map_err(|_| Error::validation("set", "is too large"))?;
                (
                    Bson::Int64(units),
                    Bson::Document(doc! { "$subtract": [units, "$stock"] }),
                )
            }
            StockChange::Returned { resellable, .. } => {
                let units = i64::from(resellable);
                (
                    Bson::Document(doc! { "$add": ["$stock", units] }),
                    Bson::Int64(units),
                )
            }
        };
        let unsold = i64::try_from(adjustment.change.unsold())
            .map_err(|_| Error::validation("quantity", "is too large"))?;
        let damaged = i64::try_from(adjustment.change.damaged())
            .map_err(|_| Error::validation("quantity", "is too large"))?;
        if unsold > 0 {
            filter.insert("sold", doc! { "$gte": unsold });
        }
        let at = timestamp::to_bson(&adjustment.at).map_err(to_core)?;
        let model = adjustment
            .model_id
            .as_ref()
            .map_or(Bson::Null, |m| Bson::String(m.to_string()));
        // Text goes in as `$literal`: a reason starting with `$` is text, not a field path.
        let entry = doc! {
            "id": { "$literal": adjustment.id.as_str() },
            "seq": seq + 1,
            "modelId": { "$literal": model },
            "delta": delta,
            "stockAfter": stock.clone(),
            "reason": { "$literal": adjustment.reason.as_str() },
            "by": { "$literal": adjustment.by.as_str() },
            "at": { "$literal": at.clone() },
        };
        let mut set = doc! {
            "stock": stock,
            "adjustSeq": seq + 1,
            "updatedAt": { "$literal": at },
            "adjusting": { "$concatArrays": [{ "$ifNull": ["$adjusting", []] }, [entry]] },
        };
        if unsold > 0 {
            set.insert("sold", doc! { "$subtract": ["$sold", unsold] });
        }
        if damaged > 0 {
            set.insert(
                "damaged",
                doc! { "$add": [{ "$ifNull": ["$damaged", 0_i64] }, damaged] },
            );
        }
        let update = vec![doc! { "$set": set }];
        self.inventories
            .find_one_and_update(filter, update)
            .return_document(mongodb::options::ReturnDocument::After)
            .await
            .map_err(to_core)
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

/// The conditional write of [`InventoryRepo::reserve`]: not retired, enough stock and none of
/// these holds open yet; take the units and open the holds.
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
            "retired": { "$ne": true },
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

/// [`ADJUSTMENT_HISTORY`] as a `seq` distance.
fn history_bound() -> i64 {
    i64::try_from(ADJUSTMENT_HISTORY).unwrap_or(i64::MAX)
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

    async fn stock_states(
        &self,
        product_ids: &[ProductId],
    ) -> Result<Vec<(ProductId, StockState)>> {
        if product_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = product_ids.iter().map(ProductId::as_str).collect();
        let filter = doc! { "$or": [
            { "_id": { "$in": ids.clone() } },
            { "modelOf": { "$in": ids } },
        ] };
        let rows = self
            .fields(
                filter,
                doc! { "sold": 1, "stock": 1, "retired": 1, "modelOf": 1 },
            )
            .await?;
        let mut states: std::collections::BTreeMap<ProductId, StockState> = Default::default();
        for row in &rows {
            let id = row
                .get_str("modelOf")
                .or_else(|_| row.get_str("_id"))
                .map_err(|_| out_of_range("_id"))?;
            let sold = row.get_i64("sold").map_err(|_| out_of_range("sold"))?;
            let stock = row.get_i64("stock").map_err(|_| out_of_range("stock"))?;
            let retired = row.get_bool("retired").unwrap_or(false);
            let state = states.entry(ProductId::parse(id)?).or_default();
            state.sold += u64::try_from(sold).map_err(|_| out_of_range("sold"))?;
            if !retired {
                state.in_stock |= stock > 0;
                state.free += u64::try_from(stock).map_err(|_| out_of_range("stock"))?;
            }
        }
        Ok(states.into_iter().collect())
    }

    async fn set_retired(&self, product_id: &ProductId, retired: bool) -> Result<()> {
        let mut filter = doc! { "_id": product_id.as_str() };
        if retired {
            // Refused while a checkout or return holds units of it.
            filter.insert("holds.0", doc! { "$exists": false });
        }
        let updated = self
            .inventories
            .update_one(filter, doc! { "$set": { "retired": retired } })
            .await
            .map_err(to_core)?;
        if updated.matched_count == 1 {
            return Ok(());
        }
        match self.find(product_id).await? {
            Some(_) => Err(Error::refused(
                "inventory",
                "has stock held by a checkout or return",
            )),
            None => Err(Error::not_found("inventory")),
        }
    }

    async fn delete(&self, product_id: &ProductId) -> Result<bool> {
        let deleted = self
            .inventories
            .delete_one(doc! { "_id": product_id.as_str() })
            .await
            .map_err(to_core)?;
        self.adjustments
            .delete_many(doc! { "productId": product_id.as_str() })
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
        let matched = update_each(&self.inventories, statements).await?;
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
        let matched = update_each(&self.inventories, statements).await?;
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

    async fn adjust(&self, adjustment: &NewAdjustment) -> Result<Adjusted> {
        let product_id = &adjustment.product_id;
        for round in 0..ADJUST_ROUNDS {
            let state = self.existing(product_id).await?;
            self.copy_journal(product_id, &state.adjusting).await?;
            let done = self
                .adjustments
                .find_one(doc! { "_id": adjustment.id.as_str() })
                .await
                .map_err(to_core)?;
            if let Some(done) = done {
                return Ok(Adjusted {
                    adjustment: done.into_adjustment(product_id)?,
                    inventory: self.existing(product_id).await?.into_inventory()?,
                });
            }
            if let Some(after) = self.apply(adjustment, state.adjust_seq).await? {
                let entry = after
                    .adjusting
                    .iter()
                    .find(|e| e.id == adjustment.id)
                    .cloned()
                    .ok_or_else(|| Error::backend("an applied adjustment is not in its journal"))?;
                if let Err(e) = self
                    .copy_journal(product_id, std::slice::from_ref(&entry))
                    .await
                {
                    // Applied and journaled: the next adjustment or listing copies it.
                    tracing::warn!(%product_id, error = %e, "adjustment not copied to the history yet");
                }
                return Ok(Adjusted {
                    adjustment: entry.into_adjustment(product_id)?,
                    inventory: after.into_inventory()?,
                });
            }
            let now = self.existing(product_id).await?;
            let applied_meanwhile = now.adjusting.iter().any(|e| e.id == adjustment.id);
            if !applied_meanwhile && now.adjust_seq == state.adjust_seq {
                // Only the guard (stock, or sold for returned units) can have failed.
                return Err(adjustment.change.refusal());
            }
            tokio::time::sleep(std::time::Duration::from_millis(u64::from(round.min(10)))).await;
        }
        Err(Error::Busy(
            "other adjustments of this product kept winning; retry".into(),
        ))
    }

    async fn adjustments(
        &self,
        product_id: &ProductId,
        page: Page,
    ) -> Result<Vec<StockAdjustment>> {
        let Some(state) = self.find(product_id).await? else {
            return Ok(Vec::new());
        };
        self.copy_journal(product_id, &state.adjusting).await?;
        if page.limit == 0 {
            return Ok(Vec::new());
        }
        let docs: Vec<AdjustmentDoc> = self
            .adjustments
            .find(doc! {
                "productId": product_id.as_str(),
                "seq": { "$gt": state.adjust_seq - history_bound() },
            })
            .sort(doc! { "seq": -1 })
            .skip(page.skip)
            .limit(i64::from(page.limit))
            .await
            .map_err(to_core)?
            .try_collect()
            .await
            .map_err(to_core)?;
        docs.into_iter()
            .map(|d| d.into_adjustment(product_id))
            .collect()
    }

    async fn list_stale(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<(ProductId, Reservation)>> {
        stale_entries(
            &self.inventories,
            "holds.at",
            before,
            limit,
            |doc: InventoryDoc| {
                doc.holds
                    .into_iter()
                    .map(|hold| {
                        let hold = hold.into_hold()?;
                        Ok((
                            hold.created_at,
                            hold.id.clone(),
                            (doc.product_id.clone(), hold),
                        ))
                    })
                    .collect()
            },
        )
        .await
    }
}
