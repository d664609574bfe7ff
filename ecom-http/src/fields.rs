//! The contract's names of the core's fields, in one table. The services' errors name core
//! fields (`price`, `product_id`, `max_uses_per_customer`); the API names them as its bodies,
//! paths and headers do (`product_price`, `productId`, `max_uses_per_user`). Every core error
//! that becomes an [`AppError`](crate::AppError) is renamed by the rows of [`Area::Any`]; a
//! route whose bodies name core fields their own way adds the rows of its area with [`wire`].

use ecom_core::Error;

/// Where a row applies.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Area {
    /// Every route (ids, headers).
    Any,
    /// `POST /products`, `PATCH /products/{productId}`.
    Products,
    /// `POST /checkout/review`, `POST /checkout/order`.
    Checkout,
    /// `POST /discounts`.
    Discounts,
    /// `GET /products/search/{keySearch}`.
    Search,
    /// `PATCH /orders/{orderId}/status`.
    Orders,
}

/// (area, core field, contract name). A field `a.b` is renamed by the row of `a`.
const NAMES: &[(Area, &str, &str)] = &[
    (Area::Any, "account_id", "userId"),
    (Area::Any, "customer_id", "userId"),
    (Area::Any, "shop_id", "shopId"),
    (Area::Any, "session_id", "sessionId"),
    (Area::Any, "api_key_id", "apiKeyId"),
    (Area::Any, "product_id", "productId"),
    (Area::Any, "model_id", "modelId"),
    (Area::Any, "cart_id", "cartId"),
    (Area::Any, "discount_id", "codeId"),
    (Area::Any, "order_id", "orderId"),
    (Area::Any, "adjustment_id", "adjustmentId"),
    (Area::Any, "idempotency_key", "idempotency-key"),
    (Area::Products, "name", "product_name"),
    (Area::Products, "thumb", "product_thumb"),
    (Area::Products, "description", "product_description"),
    (Area::Products, "price", "product_price"),
    (Area::Products, "stock", "product_quantity"),
    (Area::Products, "kind", "product_type"),
    (Area::Products, "attributes", "product_attributes"),
    (Area::Products, "variations", "product_variations"),
    (Area::Products, "models", "product_models"),
    (Area::Products, "category", "product_category"),
    (Area::Checkout, "shops", "shop_order_ids"),
    (Area::Checkout, "shop", "shopId"),
    (Area::Checkout, "items", "item_products"),
    (Area::Checkout, "code", "shop_discounts"),
    (Area::Checkout, "shipping", "user_address"),
    (Area::Checkout, "payment", "user_payment"),
    (Area::Discounts, "starts_at", "start_date"),
    (Area::Discounts, "ends_at", "end_date"),
    (
        Area::Discounts,
        "max_uses_per_customer",
        "max_uses_per_user",
    ),
    (Area::Discounts, "active", "is_active"),
    (Area::Discounts, "applies_to", "product_ids"),
    (Area::Search, "q", "keySearch"),
    (Area::Orders, "lines", "orderProducts"),
    (Area::Orders, "product_ids", "productIds"),
    (Area::Orders, "tracking_number", "trackingNumber"),
];

/// `error` with its field named as the contract names it in `area` (and on every route).
pub fn rename(error: Error, area: Area) -> Error {
    let rows: Vec<(&str, &str)> = NAMES
        .iter()
        .filter(|(a, _, _)| *a == area || *a == Area::Any)
        .map(|(_, core, wire)| (*core, *wire))
        .collect();
    error.rename_fields(&rows)
}

/// A `map_err` adapter: renames a service's error for the routes of `area`.
pub fn wire(area: Area) -> impl Fn(Error) -> Error {
    move |error| rename(error, area)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_core_field_has_one_name_per_area() {
        for (i, (area, core, _)) in NAMES.iter().enumerate() {
            for (other_area, other_core, _) in &NAMES[i + 1..] {
                let overlap = area == other_area || *area == Area::Any || *other_area == Area::Any;
                assert!(!(overlap && core == other_core), "{core} twice in {area:?}");
            }
        }
    }

    #[test]
    fn areas_add_to_the_common_rows() {
        let field = |e: Error| match e {
            Error::Validation { field, .. } => field,
            other => panic!("{other:?}"),
        };
        let price = || Error::validation("price", "bad");
        assert_eq!(field(rename(price(), Area::Products)), "product_price");
        assert_eq!(field(rename(price(), Area::Any)), "price");
        let id = || Error::validation("product_id", "bad");
        assert_eq!(field(rename(id(), Area::Checkout)), "productId");
        assert_eq!(
            field(rename(
                Error::validation("attributes.brand", "x"),
                Area::Products
            )),
            "product_attributes.brand"
        );
    }
}
