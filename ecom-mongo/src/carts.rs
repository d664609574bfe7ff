//! [`CartRepo`] on the `Carts` collection. A partial unique index on `customerId` among
//! `state: "active"` carts makes "one active cart per customer" a database rule; every change is
//! one guarded single-document update, retried when a concurrent writer changed the cart first.

use crate::collection::{collection, partial, update_each};
use crate::error::{out_of_range, to_core};
use crate::timestamp;
use async_trait::async_trait;
use bson::{doc, Document};
use ecom_core::cart::{Cart, CartLine, CartRepo, CartState};
use ecom_core::clock::Timestamp;
use ecom_core::id::{CartId, CustomerId, ProductId, ShopId};
use ecom_core::{Error, Money, Result};
use futures::TryStreamExt;
use mongodb::options::ReturnDocument;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

/// Collection of carts.
pub(crate) const CARTS: &str = "Carts";

/// How often a cart write is retried after losing a race before giving up with `Busy`.
const MAX_ATTEMPTS: usize = 64;

/// Indexes of `Carts`: at most one active cart per customer.
pub(crate) fn indexes() -> Vec<IndexModel> {
    vec![partial(
        "customer_active_unique",
        doc! { "customerId": 1 },
        doc! { "state": "active" },
        true,
    )]
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CartLineDoc {
    product_id: ProductId,
    /// The line's key: its model's id, or its product's (what updates and removals match).
    stock_id: ProductId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    model_id: Option<ProductId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    model_name: Option<String>,
    shop_id: ShopId,
    quantity: i64,
    name: String,
    price: Money,
}

impl From<&CartLine> for CartLineDoc {
    fn from(l: &CartLine) -> Self {
        CartLineDoc {
            product_id: l.product_id.clone(),
            stock_id: l.stock_id().clone(),
            model_id: l.model_id.clone(),
            model_name: l.model_name.clone(),
            shop_id: l.shop_id.clone(),
            quantity: i64::from(l.quantity),
            name: l.name.clone(),
            price: l.price,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CartDoc {
    #[serde(rename = "_id")]
    id: CartId,
    customer_id: CustomerId,
    state: CartState,
    lines: Vec<CartLineDoc>,
    #[serde(with = "timestamp")]
    created_at: Timestamp,
    #[serde(with = "timestamp")]
    updated_at: Timestamp,
}

impl CartDoc {
    fn quantity_of(&self, product_id: &ProductId) -> Option<i64> {
        self.lines
            .iter()
            .find(|l| &l.stock_id == product_id)
            .map(|l| l.quantity)
    }

    fn into_cart(self) -> Result<Cart> {
        let lines = self
            .lines
            .into_iter()
            .map(|l| {
                Ok(CartLine {
                    product_id: l.product_id,
                    shop_id: l.shop_id,
                    quantity: u32::try_from(l.quantity)
                        .map_err(|_| out_of_range("cart quantity"))?,
                    name: l.name,
                    price: l.price,
                    model_id: l.model_id,
                    model_name: l.model_name,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Cart {
            id: self.id,
            customer_id: self.customer_id,
            state: self.state,
            lines,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn quantity_error(max: u32) -> Error {
    Error::validation("quantity", format!("must be between 1 and {max}"))
}

fn busy() -> Error {
    Error::Busy("the cart is being changed concurrently".into())
}

fn active(customer_id: &CustomerId) -> Document {
    doc! { "customerId": customer_id.as_str(), "state": "active" }
}

/// MongoDB [`CartRepo`] on the `Carts` collection.
#[derive(Debug, Clone)]
pub struct MongoCarts {
    carts: Collection<CartDoc>,
}

impl MongoCarts {
    /// The repository on `db`.
    pub fn new(db: &Database) -> Self {
        MongoCarts {
            carts: collection(db, CARTS),
        }
    }

    async fn find_active(&self, customer_id: &CustomerId) -> Result<Option<CartDoc>> {
        self.carts
            .find_one(active(customer_id))
            .await
            .map_err(to_core)
    }

    /// `findOneAndUpdate` returning the cart after the update, if the filter matched.
    async fn update(&self, filter: Document, update: Document) -> Result<Option<CartDoc>> {
        self.carts
            .find_one_and_update(filter, update)
            .return_document(ReturnDocument::After)
            .await
            .map_err(to_core)
    }
}

#[async_trait]
impl CartRepo for MongoCarts {
    async fn get_active(&self, customer_id: &CustomerId) -> Result<Option<Cart>> {
        self.find_active(customer_id)
            .await?
            .map(CartDoc::into_cart)
            .transpose()
    }

    async fn add_line(
        &self,
        customer_id: &CustomerId,
        line: &CartLine,
        max_quantity: u32,
        now: Timestamp,
    ) -> Result<Cart> {
        let quantity = i64::from(line.quantity);
        let max = i64::from(max_quantity);
        if quantity == 0 || quantity > max {
            return Err(quantity_error(max_quantity));
        }
        let product = line.stock_id().as_str();
        let updated_at = timestamp::to_bson(&now).map_err(to_core)?;
        for _ in 0..MAX_ATTEMPTS {
            // 1. The product is in the cart and the sum stays within the bound: grow it.
            let mut filter = active(customer_id);
            filter.insert(
                "lines",
                doc! { "$elemMatch": { "stockId": product, "quantity": { "$lte": max - quantity } } },
            );
            let grown = self
                .update(
                    filter,
                    doc! {
                        "$inc": { "lines.$.quantity": quantity },
                        "$set": { "updatedAt": updated_at.clone() },
                    },
                )
                .await?;
            if let Some(cart) = grown {
                return cart.into_cart();
            }
            // 2. The cart exists without the product: append the line.
            let mut filter = active(customer_id);
            filter.insert("lines.stockId", doc! { "$ne": product });
            let line_doc = bson::to_bson(&CartLineDoc::from(line)).map_err(to_core)?;
            let appended = self
                .update(
                    filter,
                    doc! {
                        "$push": { "lines": line_doc.clone() },
                        "$set": { "updatedAt": updated_at.clone() },
                    },
                )
                .await?;
            if let Some(cart) = appended {
                return cart.into_cart();
            }
            match self.find_active(customer_id).await? {
                // 3. No active cart: create it with the line. A concurrent creator makes this
                //    a duplicate key on the partial unique index; go round again.
                None => {
                    let cart = CartDoc {
                        id: CartId::generate(),
                        customer_id: customer_id.clone(),
                        state: CartState::Active,
                        lines: vec![CartLineDoc::from(line)],
                        created_at: now,
                        updated_at: now,
                    };
                    match self.carts.insert_one(&cart).await.map_err(to_core) {
                        Ok(_) => return cart.into_cart(),
                        Err(Error::AlreadyExists { .. }) => continue,
                        Err(other) => return Err(other),
                    }
                }
                // 4. The line is there and the sum would pass the bound.
                Some(cart)
                    if cart
                        .quantity_of(line.stock_id())
                        .is_some_and(|q| q + quantity > max) =>
                {
                    return Err(quantity_error(max_quantity));
                }
                // Changed between our writes and this read: try again.
                Some(_) => continue,
            }
        }
        Err(busy())
    }

    async fn adjust_line(
        &self,
        customer_id: &CustomerId,
        product_id: &ProductId,
        delta: i64,
        max_quantity: u32,
        now: Timestamp,
    ) -> Result<Cart> {
        let max = i64::from(max_quantity);
        // The result must be in 1..=max: the current quantity in (1 - delta)..=(max - delta).
        let (Some(low), Some(high)) = (1_i64.checked_sub(delta), max.checked_sub(delta)) else {
            return Err(quantity_error(max_quantity));
        };
        let updated_at = timestamp::to_bson(&now).map_err(to_core)?;
        for _ in 0..MAX_ATTEMPTS {
            let mut filter = active(customer_id);
            filter.insert(
                "lines",
                doc! { "$elemMatch": {
                    "stockId": product_id.as_str(),
                    "quantity": { "$gte": low, "$lte": high },
                } },
            );
            let adjusted = self
                .update(
                    filter,
                    doc! {
                        "$inc": { "lines.$.quantity": delta },
                        "$set": { "updatedAt": updated_at.clone() },
                    },
                )
                .await?;
            if let Some(cart) = adjusted {
                return cart.into_cart();
            }
            let cart = self
                .find_active(customer_id)
                .await?
                .ok_or_else(|| Error::not_found("cart"))?;
            let current = cart
                .quantity_of(product_id)
                .ok_or_else(|| Error::not_found("cart product"))?;
            if !(low..=high).contains(&current) {
                return Err(quantity_error(max_quantity));
            }
            // The quantity moved into range between the write and the read: try again.
        }
        Err(busy())
    }

    async fn remove_lines(
        &self,
        customer_id: &CustomerId,
        product_ids: &[ProductId],
        now: Timestamp,
    ) -> Result<Option<Cart>> {
        let ids: Vec<&str> = product_ids.iter().map(ProductId::as_str).collect();
        self.update(
            active(customer_id),
            doc! {
                "$pull": { "lines": { "stockId": { "$in": ids } } },
                "$set": { "updatedAt": timestamp::to_bson(&now).map_err(to_core)? },
            },
        )
        .await?
        .map(CartDoc::into_cart)
        .transpose()
    }

    async fn remove_lines_many(
        &self,
        removals: &[(CustomerId, Vec<ProductId>)],
        now: Timestamp,
    ) -> Result<()> {
        // Most buyers of a flash sale have no cart holding what they bought: one query finds
        // the carts that do, and only those are written.
        let customers: Vec<&str> = removals.iter().map(|(c, _)| c.as_str()).collect();
        let mut products: Vec<&str> = removals
            .iter()
            .flat_map(|(_, p)| p.iter().map(ProductId::as_str))
            .collect();
        products.sort_unstable();
        products.dedup();
        let holding: Vec<Document> = self
            .carts
            .clone_with_type::<Document>()
            .find(doc! {
                "customerId": { "$in": customers },
                "state": "active",
                "lines.stockId": { "$in": products },
            })
            .projection(doc! { "customerId": 1 })
            .await
            .map_err(to_core)?
            .try_collect()
            .await
            .map_err(to_core)?;
        let holding: Vec<&str> = holding
            .iter()
            .filter_map(|d| d.get_str("customerId").ok())
            .collect();
        let now = timestamp::to_bson(&now).map_err(to_core)?;
        let statements: Vec<Document> = removals
            .iter()
            .filter(|(customer, _)| holding.contains(&customer.as_str()))
            .map(|(customer, products)| {
                let ids: Vec<&str> = products.iter().map(ProductId::as_str).collect();
                doc! {
                    "q": active(customer),
                    "u": {
                        "$pull": { "lines": { "stockId": { "$in": ids } } },
                        "$set": { "updatedAt": now.clone() },
                    },
                }
            })
            .collect();
        if !statements.is_empty() {
            update_each(&self.carts, statements).await?;
        }
        Ok(())
    }
}
