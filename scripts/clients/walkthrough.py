"""README's walkthrough, through the Python client generated from ecom's /openapi.json.

Run by scripts/clients.sh, with the generated package (`ecom_client`) importable:

    python walkthrough.py BASE_URL API_KEY

A shop signs up, creates and publishes a product and makes a 10% code; a customer signs up,
fills the cart, prices the code, reviews, places the order (twice with one idempotency key: the
same order), lists its orders and cancels; then orders again, the shop delivers, and the customer
returns a unit: asked, accepted, received resellable, refunded. Every request goes through the generated API
functions and every answer is parsed into the generated models; any other status, type or value
than the expected one is a failure (exit status 1).
"""

from __future__ import annotations

import datetime
import sys
import uuid
from types import ModuleType
from typing import Any, TypeVar

from ecom_client import AuthenticatedClient
from ecom_client.api.access import shop_signup, user_signup
from ecom_client.api.cart import add_to_cart
from ecom_client.api.checkout import place_order, review
from ecom_client.api.discounts import create_discount, discount_amount
from ecom_client.api.orders import cancel_order, list_orders, update_order_status
from ecom_client.api.returns import accept_return, confirm_return_refund, receive_return, request_return
from ecom_client.api.products import create_product, publish_product
from ecom_client.models import (
    AcceptBody,
    AddToCartBody,
    AppliesToParam,
    CartProductBody,
    CheckoutBody,
    ClothingAttributes,
    ClothingProduct,
    ClothingProductProductType,
    ConditionDto,
    CreateDiscountBody,
    DiscountTypeParam,
    EnvelopeCartDto,
    EnvelopeDiscountDto,
    EnvelopeOrderDto,
    EnvelopeProductDto,
    EnvelopeQuoteDto,
    EnvelopeReturnDto,
    EnvelopeReviewDto,
    EnvelopeShopOrderDto,
    EnvelopeShopSessionDto,
    EnvelopeUserSessionDto,
    EnvelopeVecOrderDto,
    ItemBody,
    LineStatusBody,
    NewReturnBody,
    OrderBody,
    OrderStatusDto,
    PaymentChoiceBody,
    PaymentStatusDto,
    PlainJson,
    QuoteBody,
    ReceiveBody,
    ReceivedLineBody,
    RefundStatusDto,
    ReturnItemBody,
    ReturnModeDto,
    ReturnReasonDto,
    ReturnStatusDto,
    ShopDiscountBody,
    ShopOrderBody,
    SignupBody,
    StatusBody,
)
from ecom_client.types import Unset

T = TypeVar("T")
CENT = 0.005


class Failure(Exception):
    """An answer other than the walkthrough expects."""


def call(operation: ModuleType, status: int, model: type[T], **kwargs: Any) -> T:
    """Calls `operation` (a generated API module); its answer must be `status`, parsed as `model`."""
    response = operation.sync_detailed(**kwargs)
    name = operation.__name__.rsplit(".", 1)[-1]
    if response.status_code != status:
        raise Failure(f"{name}: {int(response.status_code)} instead of {status}: {response.content[:500]!r}")
    if not isinstance(response.parsed, model):
        raise Failure(f"{name}: parsed as {type(response.parsed).__name__}, not {model.__name__}")
    print(f"walkthrough: {name} -> {status} {model.__name__}")
    return response.parsed


def check(condition: bool, what: str) -> None:
    if not condition:
        raise Failure(what)


def walkthrough(base_url: str, api_key: str) -> None:
    # The API key goes in `x-api-key`; an account adds `x-client-id` and its access token.
    def client(account: str | None = None, token: str | None = None) -> AuthenticatedClient:
        headers = {} if account is None else {"x-client-id": account, "authorization": f"Bearer {token}"}
        return AuthenticatedClient(
            base_url=base_url,
            token=api_key,
            prefix="",
            auth_header_name="x-api-key",
            headers=headers,
            raise_on_unexpected_status=True,
        )

    anonymous = client()
    tag = uuid.uuid4().hex[:12]
    password = "correct horse battery"

    # A shop signs up and creates a product: a draft, with an inventory of 10.
    shop_session = call(
        shop_signup,
        201,
        EnvelopeShopSessionDto,
        client=anonymous,
        body=SignupBody(name="Tee Shop", email=f"owner-{tag}@tee.example", password=password),
    ).metadata
    shop_id = shop_session.shop.field_id
    check(shop_session.shop.name == "Tee Shop", f"shop name {shop_session.shop.name!r}")
    shop = client(shop_id, shop_session.tokens.access_token)

    created = call(
        create_product,
        201,
        EnvelopeProductDto,
        client=shop,
        body=ClothingProduct(
            product_name="Plain tee",
            product_thumb="tee.png",
            product_price=19.99,
            product_quantity=10,
            product_type=ClothingProductProductType.CLOTHING,
            product_attributes=ClothingAttributes(brand="Acme", size="M"),
            product_category="Fashion/Men/T-Shirts",
        ),
    ).metadata
    product_id = created.field_id
    check(created.is_draft and not created.is_published, "a new product is a draft")
    check(abs(created.product_price - 19.99) < CENT, f"price {created.product_price}")
    check(created.product_quantity == 10, f"quantity {created.product_quantity}")
    check(created.product_shop == shop_id, "the product is the shop's")
    check(created.product_attributes["brand"] == "Acme", f"attributes {created.product_attributes.to_dict()}")

    published = call(publish_product, 200, EnvelopeProductDto, client=shop, product_id=product_id).metadata
    check(published.is_published and not published.is_draft, "the product is published")

    # A customer signs up.
    user_session = call(
        user_signup,
        201,
        EnvelopeUserSessionDto,
        client=anonymous,
        body=SignupBody(name="Ann", email=f"ann-{tag}@example.com", password=password),
    ).metadata
    user_id = user_session.user.field_id
    check(user_id != shop_id, "the customer is another account")
    user = client(user_id, user_session.tokens.access_token)

    # The shop makes a 10% code; the customer fills the cart, prices the code, reviews, orders.
    now = datetime.datetime.now(datetime.timezone.utc)
    code = call(
        create_discount,
        201,
        EnvelopeDiscountDto,
        client=shop,
        body=CreateDiscountBody(
            code="SUMMER10",
            name="Summer",
            type_=DiscountTypeParam.PERCENTAGE,
            value=10,
            start_date=now - datetime.timedelta(days=1),
            end_date=now + datetime.timedelta(days=365),
            max_uses=100,
            max_uses_per_user=1,
            applies_to=AppliesToParam.ALL,
        ),
    ).metadata
    check(code.discount_code == "SUMMER10", f"code {code.discount_code!r}")
    check(code.discount_type == DiscountTypeParam.PERCENTAGE, f"type {code.discount_type}")
    check(code.discount_shop_id == shop_id and code.discount_is_active, "the shop's active code")

    cart = call(
        add_to_cart,
        200,
        EnvelopeCartDto,
        client=user,
        body=AddToCartBody(product=CartProductBody(product_id=product_id, shop_id=shop_id, quantity=2)),
    ).metadata
    check(not isinstance(cart.field_id, Unset) and cart.field_id is not None, "the cart has an id")
    lines = [(line.product_id, line.quantity) for line in cart.cart_products]
    check(lines == [(product_id, 2)], f"cart lines {lines}")

    items = [ItemBody(product_id=product_id, quantity=2)]
    quote = call(
        discount_amount,
        200,
        EnvelopeQuoteDto,
        client=user,
        body=QuoteBody(code_id="SUMMER10", shop_id=shop_id, products=items),
    ).metadata
    check(abs(quote.total_order - 39.98) < CENT, f"order total {quote.total_order}")
    check(abs(quote.discount - 4.0) < CENT, f"discount {quote.discount}")
    check(abs(quote.total_price - (quote.total_order - quote.discount)) < CENT, f"total {quote.total_price}")

    shop_orders = [
        ShopOrderBody(
            shop_id=shop_id,
            item_products=items,
            shop_discounts=[ShopDiscountBody(shop_id=shop_id, code_id="SUMMER10")],
        )
    ]
    reviewed = call(
        review, 200, EnvelopeReviewDto, client=user, body=CheckoutBody(shop_order_ids=shop_orders)
    ).metadata
    totals = reviewed.checkout_order
    check(abs(totals.total_price - quote.total_order) < CENT, f"review price {totals.total_price}")
    check(abs(totals.total_discount - quote.discount) < CENT, f"review discount {totals.total_discount}")
    check(abs(totals.total_checkout - quote.total_price) < CENT, f"review total {totals.total_checkout}")

    order_body = OrderBody(
        shop_order_ids=shop_orders,
        user_address=PlainJson.from_dict({"street": "1 Main St", "city": "Springfield"}),
        user_payment=PaymentChoiceBody(method="cod"),
    )
    key = f"order-{tag}"
    order = call(place_order, 201, EnvelopeOrderDto, client=user, body=order_body, idempotency_key=key).metadata
    check(order.order_user_id == user_id, "the order is the customer's")
    check(order.order_status == OrderStatusDto.PENDING, f"status {order.order_status}")
    check(abs(order.order_checkout.total_checkout - quote.total_price) < CENT, "the order's total")
    check(order.order_payment.method == "cod", f"payment {order.order_payment.method!r}")
    check(order.order_payment.status == PaymentStatusDto.PENDING, f"payment {order.order_payment.status}")
    check(order.order_shipping["street"] == "1 Main St", f"shipping {order.order_shipping.to_dict()}")
    placed_lines = [(line.product_id, line.quantity) for shop in order.order_products for line in shop.item_products]
    check(placed_lines == [(product_id, 2)], f"order lines {placed_lines}")
    # The same idempotency key again: the same order, not a second one.
    again = call(place_order, 201, EnvelopeOrderDto, client=user, body=order_body, idempotency_key=key).metadata
    check(again.field_id == order.field_id, f"a repeat placed order {again.field_id}, not {order.field_id}")

    # Orders: list, then cancel (the stock comes back).
    orders = call(list_orders, 200, EnvelopeVecOrderDto, client=user).metadata
    check([o.field_id for o in orders] == [order.field_id], f"orders {[o.field_id for o in orders]}")
    cancelled = call(cancel_order, 200, EnvelopeOrderDto, client=user, order_id=order.field_id).metadata
    check(cancelled.field_id == order.field_id, "the cancelled order")
    check(cancelled.order_status == OrderStatusDto.CANCELLED, f"status {cancelled.order_status}")

    # Returns: another order, delivered by the shop (a cash order is paid on delivery); the
    # customer asks one unit back, the shop accepts, receives it resellable and pays it back.
    second = call(
        place_order,
        201,
        EnvelopeOrderDto,
        client=user,
        body=OrderBody(
            shop_order_ids=[ShopOrderBody(shop_id=shop_id, item_products=items)],
            user_address=PlainJson.from_dict({"street": "1 Main St"}),
            user_payment=PaymentChoiceBody(method="cod"),
        ),
    ).metadata
    for status in (OrderStatusDto.CONFIRMED, OrderStatusDto.SHIPPED, OrderStatusDto.DELIVERED):
        moved = call(
            update_order_status,
            200,
            EnvelopeShopOrderDto,
            client=shop,
            order_id=second.field_id,
            body=StatusBody(order_products=[LineStatusBody(product_ids=[product_id], status=status)]),
        ).metadata
        check(moved.order_status == status, f"status {moved.order_status}")
    asked = call(
        request_return,
        200,
        EnvelopeReturnDto,
        client=user,
        order_id=second.field_id,
        body=NewReturnBody(
            lines=[ReturnItemBody(product_id=product_id, quantity=1)], reason=ReturnReasonDto.DAMAGED
        ),
    ).metadata
    check(asked.status == ReturnStatusDto.REQUESTED, f"return {asked.status}")
    accepted = call(
        accept_return,
        200,
        EnvelopeReturnDto,
        client=shop,
        return_id=asked.id,
        body=AcceptBody(mode=ReturnModeDto.RETURN_AND_REFUND),
    ).metadata
    check(accepted.status == ReturnStatusDto.ACCEPTED, f"return {accepted.status}")
    received = call(
        receive_return,
        200,
        EnvelopeReturnDto,
        client=shop,
        return_id=asked.id,
        body=ReceiveBody(
            lines=[ReceivedLineBody(product_id=product_id, quantity=1, condition=ConditionDto.RESELLABLE)]
        ),
    ).metadata
    check(received.status == ReturnStatusDto.REFUNDING, f"return {received.status}")
    check(abs(received.refund.amount - 19.99) < CENT, f"refund {received.refund.amount}")
    paid_back = call(confirm_return_refund, 200, EnvelopeReturnDto, client=shop, return_id=asked.id).metadata
    check(paid_back.status == ReturnStatusDto.REFUNDED, f"return {paid_back.status}")
    check(paid_back.refund.status == RefundStatusDto.SUCCEEDED, f"refund {paid_back.refund.status}")


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: walkthrough.py BASE_URL API_KEY", file=sys.stderr)
        return 2
    try:
        walkthrough(sys.argv[1], sys.argv[2])
    except Exception as err:  # any failure, the client's own errors included
        print(f"walkthrough: FAILED: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    print("walkthrough: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
