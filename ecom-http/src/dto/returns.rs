//! Returns: the request, decision and receipt bodies, and the return JSON.

use chrono::{DateTime, Utc};
use ecom_core::id::ProductId;
use ecom_core::money::{Currency, MajorUnits, Money};
use ecom_core::returns::{
    Condition, OrderReturn, RefundStatus, ReturnFilter, ReturnMode, ReturnReason, ReturnStatus,
};
use ecom_core::service::{DisputeOutcome, NewReturn, ReceivedLine, ReturnItem};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// Declares a wire enum mirroring a core one (snake-case names both ways).
macro_rules! wire_enum {
    ($(#[$doc:meta])* $dto:ident => $core:ident { $($(#[$vdoc:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $dto { $($(#[$vdoc])* $variant),+ }

        impl From<$dto> for $core {
            fn from(value: $dto) -> Self {
                match value { $($dto::$variant => $core::$variant),+ }
            }
        }

        impl From<$core> for $dto {
            fn from(value: $core) -> Self {
                match value { $($core::$variant => $dto::$variant),+ }
            }
        }
    };
}

wire_enum!(
    /// Why the customer asks.
    ReturnReasonDto => ReturnReason {
        /// Arrived broken.
        Damaged,
        /// Not what was ordered.
        WrongItem,
        /// Not as the listing said.
        NotAsDescribed,
        /// Something is missing.
        MissingParts,
        /// No longer wanted.
        ChangedMind,
        /// Anything else (say what in the note).
        Other,
    }
);

wire_enum!(
    /// Where a return stands: requested -> accepted -> refunding (received) -> refunded;
    /// requested -> refunding (refund only); requested -> rejected -> disputed -> refunding or
    /// closed; requested or accepted -> cancelled (by the customer); accepted or rejected ->
    /// closed (by the sweep, when nobody acted in time).
    ReturnStatusDto => ReturnStatus {
        /// Asked; the shop has not answered.
        Requested,
        /// Accepted as return and refund: waiting for the parcel.
        Accepted,
        /// Refused by the shop; the customer may dispute it once.
        Rejected,
        /// Disputed; the operator decides.
        Disputed,
        /// A refund is due.
        Refunding,
        /// The refund was paid.
        Refunded,
        /// Ended without a refund.
        Closed,
        /// Withdrawn by the customer.
        Cancelled,
    }
);

wire_enum!(
    /// How an accepted return is settled.
    ReturnModeDto => ReturnMode {
        /// The units come back; the refund is due for the units received.
        ReturnAndRefund,
        /// The customer keeps the units; the refund is due at once.
        RefundOnly,
    }
);

wire_enum!(
    /// The state of received units.
    ConditionDto => Condition {
        /// Fit to sell again: back to stock.
        Resellable,
        /// Not fit to sell: recorded, kept out of stock.
        Damaged,
    }
);

wire_enum!(
    /// Where a return's money stands.
    RefundStatusDto => RefundStatus {
        /// Due.
        Due,
        /// Asked of the payment provider.
        Requested,
        /// Paid back.
        Succeeded,
    }
);

/// The operator's decision of a disputed return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeDto {
    /// Refund the units asked (at most `amount`, when given).
    Refund,
    /// Reject the return for good.
    Reject,
}

/// Units of one delivered line asked back.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnItemBody {
    /// The product of the line.
    #[serde(rename = "productId")]
    #[schema(schema_with = super::id_schema)]
    pub product_id: ProductId,
    /// The model of the line, for a product with models.
    #[serde(rename = "modelId", default)]
    #[schema(value_type = Option<String>, pattern = "^[0-9a-f]{32}$")]
    pub model_id: Option<ProductId>,
    /// Units, 1 or more, at most what the line has left to return.
    #[schema(minimum = 1, maximum = 1000000)]
    pub quantity: u32,
}

/// Body of `POST /orders/{orderId}/returns`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReturnBody {
    /// Delivered lines of one shop, each named once (1 to 100).
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<ReturnItemBody>,
    /// Why.
    pub reason: ReturnReasonDto,
    /// In the customer's words, up to 1000 characters.
    #[serde(default)]
    #[schema(schema_with = super::nullable_text::<1000>)]
    pub note: Option<String>,
    /// Up to 10 `http(s)` addresses of photos or videos.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub evidence: Vec<String>,
}

impl NewReturnBody {
    /// The service's input, with the client's `Idempotency-Key`.
    pub fn into_input(self, key: Option<ecom_core::idempotency::IdempotencyKey>) -> NewReturn {
        NewReturn {
            lines: self
                .lines
                .into_iter()
                .map(|l| ReturnItem {
                    product_id: l.product_id,
                    model_id: l.model_id,
                    quantity: l.quantity,
                })
                .collect(),
            reason: self.reason.into(),
            note: self.note,
            evidence: self.evidence,
            request_key: key,
        }
    }
}

/// Body of `POST /shop/returns/{returnId}/accept`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {
    /// `return_and_refund` or `refund_only`.
    pub mode: ReturnModeDto,
}

/// Body of `POST /shop/returns/{returnId}/reject`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    /// Why, 1 to 1000 characters.
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

/// Units of one return line received in one condition.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceivedLineBody {
    /// The product of the line.
    #[serde(rename = "productId")]
    #[schema(schema_with = super::id_schema)]
    pub product_id: ProductId,
    /// The model of the line, for a product with models.
    #[serde(rename = "modelId", default)]
    #[schema(value_type = Option<String>, pattern = "^[0-9a-f]{32}$")]
    pub model_id: Option<ProductId>,
    /// Units, 1 or more; with the line's other entries at most the units asked.
    #[schema(minimum = 1, maximum = 1000000)]
    pub quantity: u32,
    /// `resellable` (back to stock) or `damaged`.
    pub condition: ConditionDto,
}

/// Body of `POST /shop/returns/{returnId}/receive`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveBody {
    /// What arrived (1 to 100 entries; fewer units than asked is allowed).
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<ReceivedLineBody>,
}

impl ReceiveBody {
    /// The service's input.
    pub fn lines(self) -> Vec<ReceivedLine> {
        self.lines
            .into_iter()
            .map(|l| ReceivedLine {
                product_id: l.product_id,
                model_id: l.model_id,
                quantity: l.quantity,
                condition: l.condition.into(),
            })
            .collect()
    }
}

/// Body of `POST /admin/returns/{returnId}/resolve`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// `refund` or `reject`.
    pub outcome: OutcomeDto,
    /// For `refund`: at most this much (major units); never more than the units cost.
    #[serde(default)]
    #[schema(schema_with = super::nullable_amount_schema)]
    pub amount: Option<MajorUnits>,
}

impl ResolveBody {
    /// The outcome and the cap in `currency`.
    pub fn decision(
        &self,
        currency: Currency,
    ) -> Result<(DisputeOutcome, Option<Money>), ecom_core::Error> {
        let amount = self
            .amount
            .as_ref()
            .map(|a| Money::parse_major(a, currency, "amount"))
            .transpose()?;
        let outcome = match self.outcome {
            OutcomeDto::Refund => DisputeOutcome::Refund,
            OutcomeDto::Reject => DisputeOutcome::Reject,
        };
        Ok((outcome, amount))
    }
}

/// One line of a return.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnLineDto {
    /// The product.
    #[serde(rename = "productId")]
    pub product_id: String,
    /// The model, for a product with models.
    #[serde(rename = "modelId", skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// Units asked back.
    pub quantity: u32,
    /// Units received fit to sell.
    pub resellable: u32,
    /// Units received damaged.
    pub damaged: u32,
}

/// The refund of a return.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnRefundDto {
    /// What goes back (major units): the units' worth less their share of the shop's
    /// discount, with the shipping fee when these are the order's last units.
    #[schema(value_type = f64)]
    pub amount: Value,
    /// Of which the shipping fee.
    #[schema(value_type = f64)]
    pub shipping: Value,
    /// Where it stands.
    pub status: RefundStatusDto,
}

/// A return.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnDto {
    /// The id.
    pub id: String,
    /// The order.
    #[serde(rename = "orderId")]
    pub order_id: String,
    /// The shop whose lines come back.
    #[serde(rename = "shopId")]
    pub shop_id: String,
    /// The customer.
    #[serde(rename = "customerId")]
    pub customer_id: String,
    /// Where it stands.
    pub status: ReturnStatusDto,
    /// Why.
    pub reason: ReturnReasonDto,
    /// The customer's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Evidence addresses.
    pub evidence: Vec<String>,
    /// How it was accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<ReturnModeDto>,
    /// Why the shop refused it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejection: Option<String>,
    /// Whether the customer disputed the rejection.
    pub disputed: bool,
    /// The operator's decision (`refund` or `rejected`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// The lines.
    pub lines: Vec<ReturnLineDto>,
    /// Its refund, once due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund: Option<ReturnRefundDto>,
    /// When the server acts on it by itself (accepts, closes), if it will.
    #[serde(rename = "dueAt", skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    /// When it was asked.
    #[serde(rename = "createdAt")]
    pub created_at: DateTime<Utc>,
    /// When it last moved.
    #[serde(rename = "updatedAt")]
    pub updated_at: DateTime<Utc>,
}

impl From<&OrderReturn> for ReturnDto {
    fn from(r: &OrderReturn) -> Self {
        ReturnDto {
            id: r.id.to_string(),
            order_id: r.order_id.to_string(),
            shop_id: r.shop_id.to_string(),
            customer_id: r.customer_id.to_string(),
            status: r.status.into(),
            reason: r.reason.into(),
            note: r.note.clone(),
            evidence: r.evidence.clone(),
            mode: r.mode.map(Into::into),
            rejection: r.rejection.clone(),
            disputed: r.disputed,
            resolution: r.resolution.clone(),
            lines: r
                .lines
                .iter()
                .map(|l| ReturnLineDto {
                    product_id: l.product_id.to_string(),
                    model_id: l.model_id.as_ref().map(ToString::to_string),
                    quantity: l.quantity,
                    resellable: l.resellable,
                    damaged: l.damaged,
                })
                .collect(),
            refund: r.refund.as_ref().map(|f| ReturnRefundDto {
                amount: f.amount.major_json(),
                shipping: f.shipping.major_json(),
                status: f.status.into(),
            }),
            due_at: r.due_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Query of the return lists: a status filter and the page (pages count orders: each order's
/// returns come together).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReturnsQuery {
    /// Only returns in this status.
    pub status: Option<ReturnStatusDto>,
    /// Orders per page, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Page number, 1 to 1000000 (default 1).
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<u64>,
}

impl ReturnsQuery {
    /// The page asked for.
    pub fn page(&self) -> Result<ecom_core::page::Page, crate::error::AppError> {
        super::PageQuery {
            limit: self.limit,
            page: self.page,
        }
        .page()
    }

    /// The filter, for the caller's own returns (`customer` or `shop`).
    pub fn filter(&self) -> ReturnFilter {
        ReturnFilter {
            status: self.status.map(Into::into),
            ..Default::default()
        }
    }
}
