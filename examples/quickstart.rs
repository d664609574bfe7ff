//! ecom in one function: a shop lists a tee and a code, a customer fills a cart and checks
//! out. In-process (memory backend); run with `cargo run --example quickstart`.

use ecom::core::discount::DiscountValue;
use ecom::core::service::{
    CartItem, CheckoutRequest, NewDiscount, NewProduct, PlaceOrder, ShopOrder, SignupInput,
};
use ecom::{memory, Currency, Ecom, EcomConfig, Error, Money, Secret};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let ecom = Ecom::new(memory::backend(), EcomConfig::new(Secret::random()));
    let usd = |cents| Money::new(cents, Currency::USD);

    // A shop, its product and a 10% code.
    let (shop, _) = ecom
        .auth
        .signup_shop(SignupInput::new(
            "Tee Shop",
            "owner@tee.example",
            "a long shop password",
        ))
        .await?;
    let tee = NewProduct::new("Plain tee", "Clothing", usd(1999), 10)
        .with_attribute("brand", "Acme")
        .with_attribute("size", "M");
    let tee = ecom.products.create(&shop, tee).await?;
    ecom.products.publish(&shop, &tee.id).await?;
    let now = chrono::Utc::now();
    let code = NewDiscount::new(
        "TEN",
        DiscountValue::Percentage(1000),
        now,
        now + chrono::Duration::days(7),
        100,
    );
    ecom.discounts.create(&shop, code).await?;

    // A customer: two tees in the cart, then checkout with the code.
    let (customer, _) = ecom
        .auth
        .signup_customer(SignupInput::new(
            "Ann",
            "ann@buyer.example",
            "a long buyer password",
        ))
        .await?;
    let item = CartItem::new(tee.id.clone(), shop.clone(), 2);
    ecom.carts.add(&customer, item).await?;
    let request =
        CheckoutRequest::new(
            [ShopOrder::new(shop.clone(), [(tee.id.clone(), 2)]).with_code("TEN")],
        );
    let review = ecom.checkout.review(&customer, &request).await?;
    println!(
        "to pay: {} (discount {})",
        review.totals.total_checkout.major_string(),
        review.totals.total_discount.major_string()
    );
    let order = ecom
        .checkout
        .place_order(
            &customer,
            PlaceOrder::new(request, [("street", "1 Main St"), ("city", "Hanoi")]),
        )
        .await?;
    println!(
        "order {}: {:?}, {} line(s), total {}",
        order.id,
        order.status,
        order.lines.len(),
        order.totals.total_checkout.major_string()
    );
    let stock = ecom.inventory.get(&shop, &tee.id).await?;
    println!("tees left: {}", stock.total.stock);
    Ok(())
}
