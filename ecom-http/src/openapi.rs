//! The OpenAPI document: generated from the handlers' `#[utoipa::path]` annotations by
//! `utoipa-axum`, plus the security schemes and the error responses every route shares.

use crate::envelope::ErrorBody;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

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
        (name = "operations", description = "Health, readiness, metrics and this document (no API key)"),
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecuritySchemes)
)]
pub struct ApiDoc;

/// Adds the header-based security schemes of API.md.
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

/// Adds the error responses each operation can give, unless the handler documented them.
pub fn finish(doc: &mut utoipa::openapi::OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let business = path.starts_with(crate::routes::API_BASE);
        let has_path_param = path.contains('{');
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            add_errors(op, business, has_path_param);
        }
    }
}

fn add_errors(op: &mut Operation, business: bool, has_path_param: bool) {
    let security = serde_json::to_string(&op.security).unwrap_or_default();
    let authenticated = security.contains("access_token") || security.contains("refresh_token");
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
    if op.request_body.is_some() {
        add("413", "Request body over the limit (default 1 MiB)");
        add("415", "A content type other than JSON");
    }
    add("500", "Internal error (details are logged, never shown)");
    add("503", "A backend is unavailable or busy; retry later");
}
