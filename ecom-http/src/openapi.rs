//! The OpenAPI document: generated from the handlers' `#[utoipa::path]` annotations by
//! `utoipa-axum`, plus the security schemes, the error responses every route shares and the
//! attributes of the registered product kinds.

use crate::dto::{extra_json_schema, plain_json_schema, EXTRA_JSON, PLAIN_JSON};
use crate::envelope::ErrorBody;
use ecom_core::kind::ProductKindRegistry;
use serde_json::{json, Map, Value};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

/// Base path of the business routes.
pub const API_BASE: &str = "/v1/api";

/// The document's fixed part; the paths are added by the router.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "ecom",
        description = "REST API of ecom, an embeddable commerce engine. Every `/v1/api` route needs `x-api-key`; errors come as `{\"status\":\"error\",\"code\",\"message\"}`."
    ),
    tags(
        (name = "access", description = "Shop and customer accounts: signup, login, logout, token refresh"),
        (name = "products", description = "Products of plug-in kinds"),
        (name = "inventory", description = "Stock of a shop's products"),
        (name = "discounts", description = "Discount codes of shops: create, list, price, delete, give a use back"),
        (name = "cart", description = "The customer's cart"),
        (name = "checkout", description = "Review and place orders (prices always from the server)"),
        (name = "orders", description = "Customers' orders and shops' status updates"),
        (name = "shops", description = "A shop's own settings"),
        (name = "events", description = "What happened, for everything outside ecom: the pull API of the event log"),
        (name = "webhooks", description = "Endpoints that receive events, signed as the Standard Webhooks specification says; their deliveries"),
        (name = "operations", description = "Health, readiness, metrics and this document (no API key)"),
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecuritySchemes)
)]
pub struct ApiDoc;

/// Adds the header-based security schemes (API key, client id, access token).
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, header, description) in [
            ("api_key", "x-api-key", "API key with permission 0000"),
            (
                "client_id",
                "x-client-id",
                "The account id the token belongs to",
            ),
            (
                "access_token",
                "authorization",
                "Access token, with or without `Bearer `",
            ),
            ("refresh_token", "x-rtoken-id", "Refresh token"),
        ] {
            components.add_security_scheme(
                name,
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                    header,
                    description,
                ))),
            );
        }
    }
}

fn error_response(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
        .into()
}

/// Completes the document the router generated and returns it as JSON: the error responses
/// each operation can give (unless the handler documented them), the free-form JSON schemas,
/// what else request bodies may carry, and the product bodies described by the product kinds of
/// `kinds`.
pub fn finish(mut doc: utoipa::openapi::OpenApi, kinds: &ProductKindRegistry) -> Value {
    let components = doc.components.get_or_insert_with(Default::default);
    components
        .schemas
        .insert(PLAIN_JSON.to_owned(), plain_json_schema().into());
    components
        .schemas
        .insert(EXTRA_JSON.to_owned(), extra_json_schema().into());
    for (path, item) in doc.paths.paths.iter_mut() {
        let business = path.starts_with(API_BASE);
        let has_path_param = path.contains('{');
        for (writes, op) in [
            (false, &mut item.get),
            (true, &mut item.post),
            (true, &mut item.put),
            (true, &mut item.patch),
            (true, &mut item.delete),
        ] {
            if let Some(op) = op {
                add_errors(op, business, has_path_param, writes);
            }
        }
    }
    // The rest is said in JSON Schema words utoipa's types do not all have.
    let mut json = serde_json::to_value(&doc).unwrap_or_else(|err| {
        tracing::error!(%err, "could not serialize the OpenAPI document");
        json!({})
    });
    describe_extra_fields(&mut json);
    let schemas = &mut json["components"]["schemas"];
    if let Some(body) = schemas.get_mut("CreateProductBody").map(Value::take) {
        let (variants, attributes) = create_product_by_kind(body, kinds, schemas);
        schemas["CreateProductBody"] = variants;
        for (name, schema) in attributes {
            schemas[name.as_str()] = schema;
        }
    }
    for (name, edit) in [
        (
            "PatchProductBody",
            patch_attributes_of_kinds as fn(Value, &_) -> Value,
        ),
        ("StatusBody", |body, _| something_to_update(body)),
        ("AdjustStockBody", |body, _| delta_or_set(body)),
    ] {
        if let Some(schema) = json["components"]["schemas"].get_mut(name) {
            *schema = edit(schema.take(), kinds);
        }
    }
    json
}

/// Says what else the objects of every request body may carry, unless their schema says so
/// already (free-form JSON, attributes, bodies that refuse unknown fields): any other field
/// ([`EXTRA_JSON`]: ignored, but a key starting with `$` is refused anywhere in a body, which its
/// description says).
fn describe_extra_fields(doc: &mut Value) {
    let mut pending: Vec<String> = Vec::new();
    for item in doc["paths"].as_object().into_iter().flat_map(Map::values) {
        for method in ["post", "put", "patch", "delete"] {
            collect_refs(&item[method]["requestBody"], &mut pending);
        }
    }
    let mut done: Vec<String> = vec![EXTRA_JSON.to_owned(), PLAIN_JSON.to_owned()];
    let extra = json!({"$ref": format!("#/components/schemas/{EXTRA_JSON}")});
    while let Some(name) = pending.pop() {
        if done.contains(&name) {
            continue;
        }
        done.push(name.clone());
        if let Some(schema) = doc["components"]["schemas"].get_mut(&name) {
            describe_extras(schema, &extra);
            collect_refs(schema, &mut pending);
        }
    }
}

/// The component names `value` refers to (`#/components/schemas/NAME`).
fn collect_refs(value: &Value, names: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                names.push(name.to_owned());
            }
            map.values().for_each(|v| collect_refs(v, names));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, names)),
        _ => {}
    }
}

/// Sets `additionalProperties` (`extra`) on the objects with listed properties in `value` that
/// do not say what else they take.
fn describe_extras(value: &mut Value, extra: &Value) {
    match value {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".to_owned(), extra.clone());
            }
            map.values_mut().for_each(|v| describe_extras(v, extra));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| describe_extras(v, extra)),
        _ => {}
    }
}

/// `PATCH /orders/{orderId}/status` must change a line, or set a note or a tracking number.
fn something_to_update(body: Value) -> Value {
    json!({"allOf": [
        body,
        {"anyOf": [
            {"required": ["orderProducts"], "properties": {"orderProducts": {"minItems": 1}}},
            {"required": ["note"], "properties": {"note": {"type": "string"}}},
            {"required": ["trackingNumber"], "properties": {"trackingNumber": {"type": "string"}}},
        ]},
    ]})
}

/// `POST /inventory/adjust` takes exactly one of a non-zero `delta` and a `set`.
fn delta_or_set(body: Value) -> Value {
    json!({"allOf": [
        body,
        {"oneOf": [
            {"required": ["delta"], "properties": {"delta": {"type": "integer", "not": {"const": 0}}}},
            {"required": ["set"], "properties": {"set": {"type": "integer"}}},
        ]},
    ]})
}

/// The attribute schema of `kind`, or any object when it documents none.
fn attributes_of(kind: &dyn ecom_core::kind::ProductKind) -> Value {
    kind.attributes_schema()
        .unwrap_or_else(|| json!({"type": "object"}))
}

/// `POST /products` as two variants per kind, each a plain object schema (client generators
/// take no `oneOf` beside `properties`): `product_type` names the kind, `product_attributes`
/// follows its schema (required when the kind requires an attribute; a component of its own,
/// `{Kind}Attributes`, that both variants refer to), and either a price and quantity of its own
/// (title `{Kind}Product`) or tiers and models, each model with its price and stock (title
/// `{Kind}ProductWithModels`). Returns the body's schema and the attribute components to add
/// (named apart from those in `schemas`).
fn create_product_by_kind(
    body: Value,
    kinds: &ProductKindRegistry,
    schemas: &Value,
) -> (Value, Vec<(String, Value)>) {
    let mut variants = Vec::new();
    let mut components: Vec<(String, Value)> = Vec::new();
    for kind in kinds.kinds() {
        let attributes = attributes_of(kind.as_ref());
        let ident = unique_ident(kind.name(), |ident| {
            let taken = |name: String| {
                schemas.get(&name).is_some() || components.iter().any(|(n, _)| *n == name)
            };
            taken(format!("{ident}Attributes"))
                || taken(format!("{ident}Product"))
                || taken(format!("{ident}ProductWithModels"))
        });
        let attributes_name = format!("{ident}Attributes");
        let mut variant = body.clone();
        variant.as_object_mut().map(|v| v.remove("description"));
        if let Some(properties) = variant["properties"].as_object_mut() {
            let mut product_type = properties
                .get("product_type")
                .cloned()
                .unwrap_or_else(|| json!({"type": "string"}));
            product_type["enum"] = json!([kind.name()]);
            properties.insert("product_type".to_owned(), product_type);
            properties.insert(
                "product_attributes".to_owned(),
                json!({"$ref": format!("#/components/schemas/{attributes_name}")}),
            );
        }
        let needs_attributes = attributes["required"]
            .as_array()
            .is_some_and(|required| !required.is_empty());
        if needs_attributes {
            if let Some(required) = variant["required"].as_array_mut() {
                required.push(json!("product_attributes"));
            }
        }
        components.push((attributes_name, attributes));

        // A price and a quantity of its own: no tiers, no models (`null` is the same as none).
        let mut simple = variant.clone();
        simple["title"] = json!(format!("{ident}Product"));
        push_required(&mut simple, &["product_price", "product_quantity"]);
        let properties = &mut simple["properties"];
        properties["product_variations"]["maxItems"] = json!(0);
        properties["product_models"] = json!({
            "type": "null",
            "description": "Models come with `product_variations` (the other variant).",
        });
        variants.push(simple);

        // Tiers and models, each model with its price and stock: no price or quantity of the
        // product's own (a `null` price is the same as none; any quantity is refused).
        let mut with_models = variant;
        with_models["title"] = json!(format!("{ident}ProductWithModels"));
        push_required(&mut with_models, &["product_variations", "product_models"]);
        let properties = &mut with_models["properties"];
        properties["product_variations"]["minItems"] = json!(1);
        properties["product_models"]["type"] = json!("array");
        properties["product_models"]["minItems"] = json!(1);
        properties["product_price"] = json!({
            "type": "null",
            "description": "Not sent: each model has its price.",
        });
        properties["product_quantity"] = json!({
            "not": {},
            "description": "Not sent (any value is a 400): each model has its stock.",
        });
        variants.push(with_models);
    }
    let mut one_of = Map::new();
    one_of.insert("oneOf".to_owned(), Value::Array(variants));
    if let Some(description) = body.get("description") {
        one_of.insert("description".to_owned(), description.clone());
    }
    (Value::Object(one_of), components)
}

/// Adds `names` to the `required` list of the object schema `schema`.
fn push_required(schema: &mut Value, names: &[&str]) {
    if !schema["required"].is_array() {
        schema["required"] = json!([]);
    }
    if let Some(required) = schema["required"].as_array_mut() {
        required.extend(names.iter().map(|name| json!(name)));
    }
}

/// A name for `kind` usable in component names and as a class name by client generators: its
/// ASCII letters and digits, each word capitalized (`home goods` is `HomeGoods`), `Kind` when
/// none is left, and a number added while `taken` says the name is in use.
fn unique_ident(kind: &str, taken: impl Fn(&str) -> bool) -> String {
    let mut ident: String = kind
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect();
    if !ident.starts_with(|c: char| c.is_ascii_alphabetic()) {
        ident.insert_str(0, "Kind");
    }
    let base = ident.clone();
    let mut n = 2;
    while taken(&ident) {
        ident = format!("{base}{n}");
        n += 1;
    }
    ident
}

/// `PATCH /products/{productId}`: `product_attributes` may name the attributes of any kind
/// (those of the product's own kind are accepted), each text or `null`; an attribute some kind
/// requires must not be blank.
fn patch_attributes_of_kinds(mut body: Value, kinds: &ProductKindRegistry) -> Value {
    let mut union = Map::new();
    let mut documented = true;
    for kind in kinds.kinds() {
        let schema = attributes_of(kind.as_ref());
        let Some(properties) = schema["properties"].as_object() else {
            documented = false;
            continue;
        };
        let required = schema["required"].as_array().cloned().unwrap_or_default();
        for (name, property) in properties {
            let mut merged = union.get(name).cloned().unwrap_or_else(|| property.clone());
            merged["type"] = json!(["string", "null"]);
            if required.contains(&json!(name)) {
                merged["pattern"] = property["pattern"].clone();
            }
            union.insert(name.clone(), merged);
        }
    }
    let attributes = if documented {
        json!({
            "type": ["object", "null"],
            "description": "Attributes to merge, those of the product's kind: text (trimmed, at most \
                            200 characters), `null` leaves one unchanged",
            "properties": union,
            "additionalProperties": false,
        })
    } else {
        json!({"type": ["object", "null"]})
    };
    if let Some(properties) = body["properties"].as_object_mut() {
        properties.insert("product_attributes".to_owned(), attributes);
    }
    body
}

fn add_errors(op: &mut Operation, business: bool, has_path_param: bool, writes: bool) {
    // Authenticated: every way of calling it needs a token (a route with an anonymous way, such
    // as `GET /products/{productId}`, never answers 401).
    let authenticated = op.security.as_ref().is_some_and(|requirements| {
        !requirements.is_empty()
            && requirements.iter().all(|requirement| {
                let text = serde_json::to_string(requirement).unwrap_or_default();
                text.contains("access_token") || text.contains("refresh_token")
            })
    });

    let mut add = |code: &str, description: &str| {
        op.responses
            .responses
            .entry(code.to_owned())
            .or_insert_with(|| error_response(description));
    };
    if business {
        add(
            "400",
            "Bad input: malformed JSON, wrong types, missing fields, invalid values (the message names the field)",
        );
        add(
            "403",
            "Missing, unknown or disabled API key (`Forbidden Error`), or a key without the permission (`Permission Denied`)",
        );
    }
    if authenticated {
        add(
            "401",
            "Missing, invalid or expired token, or a token not matching `x-client-id`",
        );
    }
    if has_path_param || authenticated {
        add("404", "Not found (another account's data answers the same)");
    }
    if business && authenticated && writes {
        add(
            "409",
            "Conflict with the current state (see the operation), e.g. a concurrent change",
        );
    }
    if op.request_body.is_some() {
        add("413", "Request body over the limit (default 1 MiB)");
        add("415", "A content type other than JSON");
    }
    add("500", "Internal error (details are logged, never shown)");
    add("503", "A backend is unavailable or busy; retry later");
}

#[cfg(test)]
mod tests {
    use super::unique_ident;

    #[test]
    fn kind_names_become_identifiers_apart_from_those_taken() {
        let free = |_: &str| false;
        assert_eq!(unique_ident("Clothing", free), "Clothing");
        assert_eq!(unique_ident("home goods", free), "HomeGoods");
        assert_eq!(unique_ident("3d-prints", free), "Kind3dPrints");
        assert_eq!(unique_ident("Été", free), "T");
        assert_eq!(unique_ident("", free), "Kind");
        let taken = |name: &str| ["Books", "Books2"].contains(&name);
        assert_eq!(unique_ident("books", taken), "Books3");
    }
}
