// Compiled by scripts/clients.sh with `tsc --strict --noEmit` next to `schema.d.ts`, the types
// openapi-typescript generates from ecom's /openapi.json: the README's bodies type-check, and
// bodies the server refuses for their shape do not (each `@ts-expect-error` line must fail to
// compile, else tsc reports the directive as unused).
import type { components, operations } from "./schema";

type Schemas = components["schemas"];

const shop = "0190f5a0c0de7000a000000000000001";
const product = "0190f5a0c0de7000a000000000000002";

export const tee: Schemas["CreateProductBody"] = {
  product_name: "Plain tee",
  product_thumb: "tee.png",
  product_price: 19.99,
  product_quantity: 10,
  product_type: "Clothing",
  product_attributes: { brand: "Acme", size: "M" },
  product_category: "Fashion/Men/T-Shirts",
};

export const tierTee: Schemas["CreateProductBody"] = {
  product_name: "Tier tee",
  product_thumb: "tee.png",
  product_type: "Clothing",
  product_attributes: { brand: "Acme" },
  product_variations: [{ name: "Color", options: ["Red", "Blue"] }],
  product_models: [{ tier_index: [0], price: 10, stock: 5, sku: "TEE-R" }],
};

const items: Schemas["ItemBody"][] = [{ productId: product, quantity: 2 }];

export const order: Schemas["OrderBody"] = {
  shop_order_ids: [
    { shopId: shop, shop_discounts: [{ shopId: shop, codeId: "SUMMER10" }], item_products: items },
  ],
  user_address: { street: "1 Main St", floor: 2, notes: ["ring twice"] },
  user_payment: { method: "cod" },
};

export const key: NonNullable<operations["place_order"]["parameters"]["header"]>["idempotency-key"] =
  "order-1";

export const discount: Schemas["CreateDiscountBody"] = {
  code: "SUMMER10",
  name: "Summer",
  type: "percentage",
  value: 10,
  start_date: "2025-01-01T00:00:00Z",
  end_date: "2030-01-01T00:00:00Z",
  max_uses: 100,
  max_uses_per_user: 1,
  applies_to: "all",
};

// @ts-expect-error a product with models has no price of its own
export const both: Schemas["CreateProductBody"] = { ...tierTee, product_price: 19.99 };

// @ts-expect-error a kind the server does not know
export const toy: Schemas["CreateProductBody"] = { ...tee, product_type: "Toys" };

// @ts-expect-error a quantity is a number
export const textQuantity: Schemas["ItemBody"] = { productId: product, quantity: "2" };

// @ts-expect-error the payment method is required
export const unpaid: Schemas["OrderBody"] = { shop_order_ids: [], user_address: {} };

// @ts-expect-error a discount's type is `percentage` or `fixed`
export const halfOff: Schemas["CreateDiscountBody"] = { ...discount, type: "half" };

// Answers: an order's id is text, its lines are typed.
export function firstLine(answer: Schemas["Envelope_OrderDto"]): [string, number] {
  const line = answer.metadata.order_products[0].item_products[0];
  return [line.productId, line.quantity];
}
