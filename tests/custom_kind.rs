//! A product kind defined outside ecom-core is registered and used, without changing ecom-core.
#![allow(clippy::expect_used)]

use ecom::core::kind::attribute_field;
use ecom::core::page::Page;
use ecom::core::service::NewProduct;
use ecom::core::testkit;
use ecom::{
    memory, Currency, Ecom, EcomConfig, Error, Money, ProductKind, ProductKindRegistry, Secret,
};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Plants: a required latin name, and a light level from a fixed set.
#[derive(Debug)]
struct Plant;

impl ProductKind for Plant {
    fn name(&self) -> &str {
        "Plant"
    }

    fn normalize(&self, attributes: Map<String, Value>) -> Result<Map<String, Value>, Error> {
        let latin = attributes
            .get("latin_name")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::validation(attribute_field("latin_name"), "is required"))?;
        let light = match attributes.get("light").and_then(Value::as_str) {
            None => "medium",
            Some(l @ ("low" | "medium" | "bright")) => l,
            Some(_) => {
                return Err(Error::validation(
                    attribute_field("light"),
                    "low, medium or bright",
                ))
            }
        };
        Ok(json!({"latin_name": latin, "light": light})
            .as_object()
            .cloned()
            .unwrap_or_default())
    }

    fn search_terms(&self, attributes: &Map<String, Value>) -> Vec<String> {
        attributes
            .get("latin_name")
            .and_then(Value::as_str)
            .map(|s| vec![s.to_owned()])
            .unwrap_or_default()
    }
}

fn plant(attributes: Value) -> NewProduct {
    let mut plant = NewProduct::new("Snake plant", "Plant", Money::new(1250, Currency::USD), 7)
        .with_thumb("plant.png");
    if let Value::Object(attributes) = attributes {
        plant.attributes = attributes;
    }
    plant
}

#[tokio::test]
async fn a_kind_from_outside_core_creates_products() {
    let mut kinds = ProductKindRegistry::with_builtins();
    kinds.register(Arc::new(Plant)).expect("registered");
    assert!(matches!(
        kinds.register(Arc::new(Plant)),
        Err(Error::AlreadyExists { .. })
    ));
    let mut config = EcomConfig::new(Secret::random());
    config.kinds = kinds;
    let ecom = Ecom::new(memory::backend(), config);
    let (shop, _) = testkit::shop(&ecom).await;

    let product = ecom
        .products
        .create(
            &shop,
            plant(json!({"latin_name": " Dracaena trifasciata "})),
        )
        .await
        .expect("created");
    assert_eq!(product.kind, "Plant");
    assert_eq!(product.price.minor, 1250);
    assert_eq!(
        Value::Object(product.attributes.clone()),
        json!({"latin_name": "Dracaena trifasciata", "light": "medium"})
    );
    let stock = ecom
        .backend()
        .inventory
        .get(&product.id)
        .await
        .expect("read");
    assert_eq!(stock.map(|s| s.stock), Some(7));

    ecom.products
        .publish(&shop, &product.id)
        .await
        .expect("published");
    let found = ecom
        .catalogue
        .search("dracaena", Page::default())
        .await
        .expect("searched");
    assert_eq!(found.products.len(), 1);

    // The kind's own rules apply, with the field named.
    let err = ecom
        .products
        .create(&shop, plant(json!({"latin_name": "X", "light": "dark"})))
        .await
        .expect_err("rejected");
    assert!(matches!(err, Error::Validation { ref field, .. } if field == "attributes.light"));
    // Without registration the kind is unknown.
    let plain = Ecom::new(memory::backend(), EcomConfig::new(Secret::random()));
    let (other_shop, _) = testkit::shop(&plain).await;
    assert!(matches!(
        plain
            .products
            .create(&other_shop, plant(json!({"latin_name": "X"})))
            .await,
        Err(Error::InvalidProductType(_))
    ));
}
