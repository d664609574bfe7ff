//! Plugging a product kind of your own into ecom, without touching its crates.
//!
//! Run with `cargo run --example custom_kind`.

use ecom::core::kind::attribute_field;
use ecom::core::service::{NewProduct, SignupInput};
use ecom::{
    memory, Currency, Ecom, EcomConfig, Error, Money, ProductKind, ProductKindRegistry, Secret,
};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Books: an ISBN-13 is required (digits only, hyphens allowed), the author is searchable.
#[derive(Debug)]
struct Book;

impl ProductKind for Book {
    fn name(&self) -> &str {
        "Book"
    }

    fn normalize(&self, attributes: Map<String, Value>) -> Result<Map<String, Value>, Error> {
        let mut out = Map::new();
        for (key, value) in attributes {
            let text = value
                .as_str()
                .ok_or_else(|| Error::validation(attribute_field(&key), "must be a string"))?;
            match key.as_str() {
                "isbn" => {
                    let digits: String = text.chars().filter(|c| *c != '-').collect();
                    if digits.len() != 13 || !digits.chars().all(|c| c.is_ascii_digit()) {
                        return Err(Error::validation(
                            attribute_field("isbn"),
                            "must be 13 digits",
                        ));
                    }
                    out.insert(key, Value::String(digits));
                }
                "author" => {
                    out.insert(key, Value::String(text.trim().to_owned()));
                }
                _ => {
                    return Err(Error::validation(
                        attribute_field(&key),
                        "is not a book attribute",
                    ))
                }
            }
        }
        if !out.contains_key("isbn") {
            return Err(Error::validation(attribute_field("isbn"), "is required"));
        }
        Ok(out)
    }

    fn search_terms(&self, attributes: &Map<String, Value>) -> Vec<String> {
        attributes
            .get("author")
            .and_then(Value::as_str)
            .map(|a| vec![a.to_owned()])
            .unwrap_or_default()
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let mut kinds = ProductKindRegistry::with_builtins();
    kinds.register(Arc::new(Book))?;
    let mut config = EcomConfig::new(Secret::random());
    config.kinds = kinds;
    let ecom = Ecom::new(memory::backend(), config);

    let (shop_id, _session) = ecom
        .auth
        .signup_shop(SignupInput::new(
            "Corner Books",
            "owner@corner-books.example",
            "a long shop password",
        ))
        .await?;
    let price = Money::parse_major(&"39.95".into(), Currency::USD, "price")?;
    let input = NewProduct::new("The Rust Programming Language", "Book", price, 12)
        .with_thumb("trpl.png")
        .with_attribute("isbn", "978-1-7185-0310-6")
        .with_attribute("author", "Klabnik");
    let book = ecom.products.create(&shop_id, input).await?;
    ecom.products.publish(&shop_id, &book.id).await?;
    println!(
        "created {} ({}), isbn {}",
        book.name, book.kind, book.attributes["isbn"]
    );
    let found = ecom.catalogue.search("klabnik", Default::default()).await?;
    println!("search 'klabnik' finds {} product(s)", found.products.len());
    Ok(())
}
