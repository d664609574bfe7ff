//! Variants, as Shopee's tier variations: a product may have up to two tiers of options
//! (`Color: Red, Blue` × `Size: S, M, L`) and *models*, one per combination it sells, each with
//! its own price, SKU and stock record.
//!
//! A model's id has the form of a product id and is the key of its own stock record
//! ([`crate::inventory::Inventory`]), so reservations, the stock gate, group commit,
//! settlement, recovery and adjustments work per model through the same ports as a product
//! without models (whose stock record has the product's id). Everything that touches stock
//! goes through a line's *stock id* ([`stock_id`]): the model's id, or the product's.

use crate::error::{Error, Result};
use crate::id::ProductId;
use crate::money::Money;
use crate::validate;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Most tiers of a product.
pub const MAX_TIERS: usize = 2;
/// Most options of one tier.
pub const MAX_OPTIONS: usize = 20;
/// Longest tier name and option.
const MAX_LABEL: usize = 50;
/// Longest SKU.
const MAX_SKU: usize = 100;

/// One tier of variation: its name and its options (`Size`: `S`, `M`, `L`).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Variation {
    /// The tier's name, 1 to 50 characters.
    pub name: String,
    /// Its options, 1 to 20, distinct (ignoring case), each 1 to 50 characters.
    pub options: Vec<String>,
}

impl Variation {
    /// A tier named `name` with `options`.
    pub fn new<S: Into<String>>(
        name: impl Into<String>,
        options: impl IntoIterator<Item = S>,
    ) -> Self {
        Variation {
            name: name.into(),
            options: options.into_iter().map(Into::into).collect(),
        }
    }
}

/// One model (variant) of a product: a combination of options it sells.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Model {
    /// Its id (the key of its stock record).
    pub id: ProductId,
    /// The option of each tier, by index (`[color, size]`).
    pub tier_index: Vec<u32>,
    /// The options' names joined by ` / ` (`Red / M`).
    pub name: String,
    /// Its unit price.
    pub price: Money,
    /// The free stock it was created with (its stock record holds the live count).
    pub stock: u32,
    /// The shop's stock-keeping unit, if any (unique within the product).
    pub sku: Option<String>,
}

/// A model as a shop describes it: new (no `id`) or an existing one to keep or change.
#[derive(Clone, PartialEq, Debug)]
pub struct ModelInput {
    /// The model to change; `None` for a new model.
    pub id: Option<ProductId>,
    /// The option of each tier, by index.
    pub tier_index: Vec<u32>,
    /// Unit price.
    pub price: Money,
    /// Initial stock of a new model (`None` = 0); refused for an existing model (its stock
    /// changes through the inventory).
    pub stock: Option<u32>,
    /// SKU, if any.
    pub sku: Option<String>,
}

impl ModelInput {
    /// A new model of options `tier_index` at `price` with `stock` units.
    pub fn new(tier_index: impl Into<Vec<u32>>, price: Money, stock: u32) -> Self {
        ModelInput {
            id: None,
            tier_index: tier_index.into(),
            price,
            stock: Some(stock),
            sku: None,
        }
    }

    /// With this SKU.
    pub fn with_sku(mut self, sku: impl Into<String>) -> Self {
        self.sku = Some(sku.into());
        self
    }

    /// The input that keeps `model` as it is (for a patch changing others).
    pub fn keep(model: &Model) -> Self {
        ModelInput {
            id: Some(model.id.clone()),
            tier_index: model.tier_index.clone(),
            price: model.price,
            stock: None,
            sku: model.sku.clone(),
        }
    }
}

/// How a product is offered: at one price with a stock record of its own, or as models, each
/// with its own price, stock record and SKU (then the product has no price or stock of its
/// own: it shows the lowest model price and the sum of the models' stock).
#[derive(Clone, Debug, PartialEq)]
pub enum Offer {
    /// One price and one stock.
    Single {
        /// Unit price, above zero, in the configured currency.
        price: Money,
        /// Initial stock, 1 to [`validate::MAX_QUANTITY`].
        stock: u32,
    },
    /// Tiers of variation and the models sold.
    Models {
        /// Tiers of variation (at most two).
        variations: Vec<Variation>,
        /// The models, one per combination sold (new ones: no id).
        models: Vec<ModelInput>,
    },
}

impl Offer {
    /// The offer of a product from the parts a client may send, by the one rule: with
    /// `models`, no price or stock of the product's own; without, a price, a stock and no
    /// tiers. Errors name `price`, `stock` and `models`; the tiers and models themselves are
    /// checked when the product is created.
    pub fn from_parts(
        price: Option<Money>,
        stock: Option<u32>,
        variations: Vec<Variation>,
        models: Option<Vec<ModelInput>>,
    ) -> Result<Offer> {
        match models {
            Some(models) => {
                if price.is_some() || stock.is_some() {
                    return Err(Error::validation(
                        "price",
                        "a product with models has no price or quantity of its own: set them on the models",
                    ));
                }
                Ok(Offer::Models { variations, models })
            }
            None => {
                if !variations.is_empty() {
                    return Err(Error::validation(
                        "models",
                        "variations need at least one model",
                    ));
                }
                Ok(Offer::Single {
                    price: price.ok_or_else(|| Error::validation("price", "is required"))?,
                    stock: stock.ok_or_else(|| Error::validation("stock", "is required"))?,
                })
            }
        }
    }
}

/// The id of the stock record a line of `product` (and `model`, if any) takes its units from.
pub fn stock_id<'a>(product: &'a ProductId, model: Option<&'a ProductId>) -> &'a ProductId {
    model.unwrap_or(product)
}

/// Validates tiers: at most [`MAX_TIERS`], names distinct, options as [`Variation`] says;
/// returns them trimmed. Errors name `variations`.
pub fn variations(input: Vec<Variation>) -> Result<Vec<Variation>> {
    if input.len() > MAX_TIERS {
        return Err(Error::validation(
            "variations",
            format!("at most {MAX_TIERS} tiers"),
        ));
    }
    let mut names = HashSet::new();
    input
        .into_iter()
        .map(|tier| {
            let name = validate::text("variations", &tier.name, MAX_LABEL)?;
            if !names.insert(name.to_lowercase()) {
                return Err(Error::validation("variations", "tier names must differ"));
            }
            if tier.options.is_empty() || tier.options.len() > MAX_OPTIONS {
                return Err(Error::validation(
                    "variations",
                    format!("each tier has 1 to {MAX_OPTIONS} options"),
                ));
            }
            let mut seen = HashSet::new();
            let options = tier
                .options
                .iter()
                .map(|o| {
                    let option = validate::text("variations", o, MAX_LABEL)?;
                    if !seen.insert(option.to_lowercase()) {
                        return Err(Error::validation(
                            "variations",
                            "a tier's options must differ",
                        ));
                    }
                    Ok(option)
                })
                .collect::<Result<_>>()?;
            Ok(Variation { name, options })
        })
        .collect()
}

/// Checks a model's options against `tiers` and names it (`Red / M`). Errors name `models`.
pub fn model_name(tiers: &[Variation], tier_index: &[u32]) -> Result<String> {
    if tier_index.len() != tiers.len() {
        return Err(Error::validation(
            "models",
            format!("tier_index must hold one option per tier ({})", tiers.len()),
        ));
    }
    let names = tiers
        .iter()
        .zip(tier_index)
        .map(|(tier, &i)| {
            tier.options
                .get(i as usize)
                .map(String::as_str)
                .ok_or_else(|| Error::validation("models", "tier_index names no such option"))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(names.join(" / "))
}

/// A SKU, trimmed, 1 to 100 characters. Errors name `models`.
pub fn sku(value: &str) -> Result<String> {
    validate::text("models", value, MAX_SKU)
}

/// Checks that no two models share a combination or a SKU. Errors name `models`.
pub fn distinct(models: &[Model]) -> Result<()> {
    let mut combos = HashSet::new();
    let mut skus = HashSet::new();
    for model in models {
        if !combos.insert(&model.tier_index) {
            return Err(Error::validation(
                "models",
                "each combination of options at most once",
            ));
        }
        if let Some(sku) = &model.sku {
            if !skus.insert(sku) {
                return Err(Error::validation("models", "SKUs must differ"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_and_names_are_checked() {
        let tiers = variations(vec![
            Variation::new(" Color ", ["Red", "Blue"]),
            Variation::new("Size", ["S", "M", "L"]),
        ])
        .unwrap();
        assert_eq!(tiers[0].name, "Color");
        assert_eq!(model_name(&tiers, &[0, 1]).unwrap(), "Red / M");
        assert!(model_name(&tiers, &[0]).is_err());
        assert!(model_name(&tiers, &[2, 0]).is_err());
        let three = vec![Variation::new("a", ["x"]); 3];
        assert!(variations(three).is_err());
        assert!(variations(vec![Variation::new("a", ["x", "X"])]).is_err());
        assert!(variations(vec![Variation::new("a", Vec::<String>::new())]).is_err());
        let many: Vec<String> = (0..21).map(|i| i.to_string()).collect();
        assert!(variations(vec![Variation::new("a", many)]).is_err());
        assert!(variations(vec![Variation::new("a", ["x"]), Variation::new("A", ["y"])]).is_err());
    }
}
