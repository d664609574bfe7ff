//! A flash sale: 1,000 buyers at once for 50 units of one product. Exactly 50 orders are
//! placed, the others are refused as out of stock, and the stock ends at 0.
//!
//! `cargo run --example flash_sale` runs in-process (memory backend). With MongoDB and Redis:
//! `ECOM_MONGO_URI=mongodb://127.0.0.1:27017 ECOM_REDIS_URL=redis://127.0.0.1:6379
//! cargo run --example flash_sale --features mongo,redis` (a database `ecom_flash_sale_<random>`
//! and the Redis prefix `flash:` are used; the gate strategy admits buyers in Redis).

use ecom::core::id::CustomerId;
use ecom::core::service::{
    CheckoutRequest, CheckoutStrategy, NewProduct, PlaceOrder, ShopOrder, SignupInput,
};
use ecom::{Backend, Currency, Ecom, EcomConfig, Error, Money, Secret};
#[cfg(feature = "redis")]
use std::sync::Arc;

const BUYERS: usize = 1_000;
const UNITS: u32 = 50;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (backend, strategy) = backend().await?;
    let mut config = EcomConfig::new(Secret::random());
    config.checkout.strategy = strategy;
    let ecom = Ecom::new(backend, config);
    let (shop, _) = ecom
        .auth
        .signup_shop(SignupInput::new(
            "Flash Shop",
            "owner@flash.example",
            "a long shop password",
        ))
        .await?;
    let price = Money::new(999, Currency::USD);
    let tee =
        NewProduct::new("Flash tee", "Clothing", price, UNITS).with_attribute("brand", "Acme");
    let tee = ecom.products.create(&shop, tee).await?;
    ecom.products.publish(&shop, &tee.id).await?;

    let buyers: Vec<_> = (0..BUYERS)
        .map(|_| {
            let (ecom, request) = (
                ecom.clone(),
                CheckoutRequest::new([ShopOrder::new(shop.clone(), [(tee.id.clone(), 1)])]),
            );
            tokio::spawn(async move {
                let order = PlaceOrder::new(request, [("city", "Hanoi")]);
                ecom.checkout
                    .place_order(&CustomerId::generate(), order)
                    .await
            })
        })
        .collect();
    let (mut placed, mut refused) = (0, 0);
    for buyer in buyers {
        match buyer.await.map_err(Error::backend)? {
            Ok(_) => placed += 1,
            Err(Error::InsufficientStock { .. }) => refused += 1,
            Err(other) => return Err(other),
        }
    }
    ecom.checkout.flush().await;
    let stock = ecom.inventory.get(&shop, &tee.id).await?;
    println!(
        "strategy {}: placed {placed}, refused {refused}, stock left {}",
        strategy.name(),
        stock.total.stock
    );
    assert_eq!(
        (placed, stock.total.stock),
        (UNITS as usize, 0),
        "exactly the units on sale were sold"
    );
    Ok(())
}

/// The memory backend, or MongoDB (+ Redis) when `ECOM_MONGO_URI` (and `ECOM_REDIS_URL`) are
/// set and the features are on.
async fn backend() -> Result<(Backend, CheckoutStrategy), Error> {
    #[cfg(feature = "mongo")]
    if let Ok(uri) = std::env::var("ECOM_MONGO_URI") {
        let db = format!("ecom_flash_sale_{}", CustomerId::generate());
        let backend = ecom::mongo::connect(&uri, &db).await?;
        #[cfg(feature = "redis")]
        if let Ok(url) = std::env::var("ECOM_REDIS_URL") {
            let gate = ecom::redis::RedisStockGate::connect(&url, "flash:").await?;
            return Ok((backend.with_gate(Arc::new(gate)), CheckoutStrategy::Gate));
        }
        return Ok((backend, CheckoutStrategy::Atomic));
    }
    Ok((ecom::memory::backend(), CheckoutStrategy::Atomic))
}
