//! Checkout: the review and order bodies (the `shop_order_ids` shape of the contract) and the review
//! JSON. Client prices are accepted and ignored; every amount is the server's, in major units.

use super::discount::ItemBody;
use ecom_core::id::{CartId, ShopId};
use ecom_core::idempotency::IdempotencyKey;
use ecom_core::order::{AppliedDiscount, CheckoutTotals};
use ecom_core::service::{CheckoutRequest, CheckoutReview, ItemRequest, ShopOrder, ShopReview};
use ecom_core::Error;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::Required;
use utoipa::{IntoParams, ToSchema};

/// A shop's code in a checkout.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ShopDiscountBody {
    /// The shop whose code it is (the same as the enclosing `shopId`).
    #[serde(rename = "shopId")]
    #[schema(schema_with = super::id_schema)]
    pub shop_id: ShopId,
    /// The code (the text customers type); an unknown one is a 400.
    #[serde(rename = "codeId")]
    #[schema(example = "SUMMER10")]
    pub code: String,
}

/// One shop's part of a checkout.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ShopOrderBody {
    /// The shop.
    #[serde(rename = "shopId")]
    #[schema(schema_with = super::id_schema)]
    pub shop_id: ShopId,
    /// At most one code of this shop.
    #[serde(default)]
    #[schema(max_items = 1)]
    pub shop_discounts: Vec<ShopDiscountBody>,
    /// What to buy from it: 1 to 100 lines (at most 100 distinct products per checkout).
    #[schema(min_items = 1, max_items = 100)]
    pub item_products: Vec<ItemBody>,
}

impl TryFrom<ShopOrderBody> for ShopOrder {
    type Error = Error;

    /// The shop's part; its `shop_discounts` hold at most one code, of this very shop.
    fn try_from(body: ShopOrderBody) -> Result<Self, Error> {
        if body.shop_discounts.len() > 1 {
            return Err(Error::validation(
                "shop_discounts",
                "at most one code per shop",
            ));
        }
        let code = match body.shop_discounts.into_iter().next() {
            Some(d) if d.shop_id != body.shop_id => {
                return Err(Error::validation(
                    "shop_discounts",
                    "a code must belong to its shop",
                ))
            }
            Some(d) => Some(d.code),
            None => None,
        };
        Ok(ShopOrder {
            shop_id: body.shop_id,
            code,
            items: body
                .item_products
                .into_iter()
                .map(ItemRequest::from)
                .collect(),
        })
    }
}

/// Body of `POST /checkout/review`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CheckoutBody {
    /// The cart id of the contract: accepted (it must have the form of an id) and not used, since the
    /// lines come from `shop_order_ids`; the bought lines leave the customer's active cart.
    #[serde(rename = "cartId", default)]
    #[schema(schema_with = super::optional_id_schema)]
    pub cart_id: Option<CartId>,
    /// 1 to 20 shops, each once.
    #[schema(min_items = 1, max_items = 20)]
    pub shop_order_ids: Vec<ShopOrderBody>,
}

impl CheckoutBody {
    /// The request for the checkout service.
    pub fn request(self) -> Result<CheckoutRequest, Error> {
        Ok(CheckoutRequest {
            shops: self
                .shop_order_ids
                .into_iter()
                .map(ShopOrder::try_from)
                .collect::<Result<_, _>>()?,
        })
    }
}

/// The header carrying the client's idempotency key.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The optional `idempotency-key` header of `POST /checkout/order` (for the OpenAPI document;
/// the handler reads the header itself). Its rule is the core's
/// ([`IdempotencyKey`]).
#[derive(Debug)]
pub struct IdempotencyKeyHeader;

impl IntoParams for IdempotencyKeyHeader {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let schema = ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(IdempotencyKey::MAX_LEN))
            .pattern(Some(IdempotencyKey::PATTERN));
        vec![ParameterBuilder::new()
            .name(IDEMPOTENCY_KEY)
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "1 to 255 printable ASCII characters; a repeat from the same customer returns \
                 the first outcome (the same order, or the same error), even with a different \
                 body.",
            ))
            .schema(Some(schema))
            .build()]
    }
}

/// Body of `POST /checkout/order`: the review body plus where to ship and how to pay. Send an
/// `idempotency-key` header to make retries safe.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OrderBody {
    /// As in the review: accepted and not used.
    #[serde(rename = "cartId", default)]
    #[schema(schema_with = super::optional_id_schema)]
    pub cart_id: Option<CartId>,
    /// 1 to 20 shops, each once.
    #[schema(min_items = 1, max_items = 20)]
    pub shop_order_ids: Vec<ShopOrderBody>,
    /// The shipping address, stored as given (no key may start with `$` or contain `.`).
    #[schema(schema_with = super::plain_object_schema)]
    pub user_address: Map<String, Value>,
    /// How the customer pays: the method only (`{}` means cash on delivery).
    pub user_payment: PaymentChoiceBody,
}

/// How the customer pays (`user_payment`): the method only. Card or account details are
/// never sent to ecom (a payment provider holds them); any other key is refused.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentChoiceBody {
    /// A payment method the server offers: `cod` (cash on delivery, the default) or `online`
    /// (paid through the provider, which reports to `POST /webhooks/payments`; offered when
    /// the server has a webhook secret). An unpaid online order is cancelled after the
    /// payment timeout.
    #[serde(default)]
    #[schema(example = "cod", min_length = 1, max_length = 50)]
    pub method: Option<String>,
}

impl OrderBody {
    /// The request for the checkout service, the shipping JSON and the payment method.
    pub fn into_parts(self) -> Result<(CheckoutRequest, Value, String), Error> {
        let request = CheckoutBody {
            cart_id: self.cart_id,
            shop_order_ids: self.shop_order_ids,
        }
        .request()?;
        Ok((
            request,
            Value::Object(self.user_address),
            self.user_payment.method.unwrap_or_else(|| "cod".to_owned()),
        ))
    }
}

/// Totals of a checkout, in major units (`checkout_order`).
#[derive(Debug, Serialize, ToSchema)]
pub struct TotalsDto {
    /// Sum of line prices.
    #[serde(rename = "totalPrice")]
    #[schema(value_type = f64)]
    pub total_price: Value,
    /// Shipping fee.
    #[serde(rename = "feeShip")]
    #[schema(value_type = f64)]
    pub fee_ship: Value,
    /// Sum of discounts.
    #[serde(rename = "totalDiscount")]
    #[schema(value_type = f64)]
    pub total_discount: Value,
    /// What the customer pays: `totalPrice + feeShip - totalDiscount`, never negative.
    #[serde(rename = "totalCheckout")]
    #[schema(value_type = f64)]
    pub total_checkout: Value,
}

impl From<CheckoutTotals> for TotalsDto {
    fn from(t: CheckoutTotals) -> Self {
        TotalsDto {
            total_price: t.total_price.major_json(),
            fee_ship: t.fee_ship.major_json(),
            total_discount: t.total_discount.major_json(),
            total_checkout: t.total_checkout.major_json(),
        }
    }
}

/// A code applied to a shop's part.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppliedDiscountDto {
    /// The shop whose code it is.
    #[serde(rename = "shopId")]
    pub shop_id: String,
    /// The code.
    #[serde(rename = "codeId")]
    pub code: String,
    /// Amount taken off, in major units.
    #[schema(value_type = f64)]
    pub discount: Value,
}

impl From<&AppliedDiscount> for AppliedDiscountDto {
    fn from(d: &AppliedDiscount) -> Self {
        AppliedDiscountDto {
            shop_id: d.shop_id.to_string(),
            code: d.code.clone(),
            discount: d.amount.major_json(),
        }
    }
}

/// A line priced by the server.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewedItemDto {
    /// The product.
    #[serde(rename = "productId")]
    pub product_id: String,
    /// The model, for a product with models (else absent).
    #[serde(rename = "modelId", skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// The model's name (`Red / M`), for a product with models (else absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_name: Option<String>,
    /// Its name.
    pub name: String,
    /// Units (duplicates of a product merged).
    pub quantity: u32,
    /// Stored unit price, in major units.
    #[schema(value_type = f64)]
    pub price: Value,
}

/// One shop's part, priced (an entry of `shop_order_ids_new`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ShopReviewDto {
    /// The shop.
    #[serde(rename = "shopId")]
    pub shop_id: String,
    /// Its code, if one was sent (a code that does not apply is a 400 instead).
    pub shop_discounts: Vec<AppliedDiscountDto>,
    /// Sum of its lines.
    #[serde(rename = "priceRaw")]
    #[schema(value_type = f64)]
    pub price_raw: Value,
    /// `priceRaw` minus its code's discount.
    #[serde(rename = "priceApplyDiscount")]
    #[schema(value_type = f64)]
    pub price_apply_discount: Value,
    /// Its lines at server prices.
    pub item_products: Vec<ReviewedItemDto>,
}

impl From<ShopReview> for ShopReviewDto {
    fn from(shop: ShopReview) -> Self {
        ShopReviewDto {
            shop_id: shop.shop_id.to_string(),
            shop_discounts: shop.discounts.iter().map(Into::into).collect(),
            price_raw: shop.subtotal.major_json(),
            price_apply_discount: shop.after_discounts.major_json(),
            item_products: shop
                .items
                .into_iter()
                .map(|item| ReviewedItemDto {
                    product_id: item.product_id.to_string(),
                    model_id: item.model_id.map(|m| m.to_string()),
                    model_name: item.model_name,
                    name: item.name,
                    quantity: item.quantity,
                    price: item.unit_price.major_json(),
                })
                .collect(),
        }
    }
}

/// A shop's code as the request named it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestedDiscountDto {
    /// The shop.
    #[serde(rename = "shopId")]
    pub shop_id: String,
    /// The code.
    #[serde(rename = "codeId")]
    pub code: String,
}

/// A line as the request named it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestedItemDto {
    /// The product.
    #[serde(rename = "productId")]
    pub product_id: String,
    /// The model, for a product with models (else absent).
    #[serde(rename = "modelId", skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// Units.
    pub quantity: u32,
}

/// One shop's part as the request named it (client prices dropped).
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestedShopOrderDto {
    /// The shop.
    #[serde(rename = "shopId")]
    pub shop_id: String,
    /// Its code.
    pub shop_discounts: Vec<RequestedDiscountDto>,
    /// Its lines.
    pub item_products: Vec<RequestedItemDto>,
}

/// The answer of `POST /checkout/review`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewDto {
    /// The request as the server read it.
    pub shop_order_ids: Vec<RequestedShopOrderDto>,
    /// Each shop's part priced by the server.
    pub shop_order_ids_new: Vec<ShopReviewDto>,
    /// Totals.
    pub checkout_order: TotalsDto,
}

impl ReviewDto {
    /// The review of `request`.
    pub fn new(request: &CheckoutRequest, review: CheckoutReview) -> Self {
        ReviewDto {
            shop_order_ids: request
                .shops
                .iter()
                .map(|shop| RequestedShopOrderDto {
                    shop_id: shop.shop_id.to_string(),
                    shop_discounts: shop
                        .code
                        .iter()
                        .map(|code| RequestedDiscountDto {
                            shop_id: shop.shop_id.to_string(),
                            code: code.clone(),
                        })
                        .collect(),
                    item_products: shop
                        .items
                        .iter()
                        .map(|i| RequestedItemDto {
                            product_id: i.product_id.to_string(),
                            model_id: i.model_id.as_ref().map(|m| m.to_string()),
                            quantity: i.quantity,
                        })
                        .collect(),
                })
                .collect(),
            shop_order_ids_new: review.shops.into_iter().map(Into::into).collect(),
            checkout_order: review.totals.into(),
        }
    }
}
