//! Holds recorded answers to the server's own OpenAPI document: every JSON answer must be one
//! the document lists for its operation and status, with a body its schema accepts.

use super::{Api, Exchange};
use reqwest::Method;
use serde_json::{Map, Value};

/// The operation of `doc` that serves `method path`: the path template whose segments match,
/// literal segments preferred over parameters (`/products/search/{q}` over `/products/{id}`).
fn operation<'a>(doc: &'a Value, method: &Method, path: &str) -> Option<(&'a str, &'a Value)> {
    let segments: Vec<&str> = path.split('/').collect();
    let mut best: Option<(usize, &str, &Value)> = None;
    for (template, item) in doc["paths"].as_object()? {
        let parts: Vec<&str> = template.split('/').collect();
        if parts.len() != segments.len() {
            continue;
        }
        let mut literal = 0;
        let fits = parts.iter().zip(&segments).all(|(part, segment)| {
            if part.starts_with('{') {
                !segment.is_empty()
            } else {
                literal += 1;
                part == segment
            }
        });
        let Some(op) = item.get(method.as_str().to_ascii_lowercase()) else {
            continue;
        };
        if fits && best.is_none_or(|(score, ..)| literal > score) {
            best = Some((literal, template.as_str(), op));
        }
    }
    best.map(|(_, template, op)| (template, op))
}

/// Panics with every recorded answer of `api` (and of its clones) that the document at
/// `/openapi.json` does not describe; returns how many answers were checked.
pub async fn assert_answers_follow_the_document(api: &Api) -> usize {
    let (checked, problems) = answers_against_the_document(api).await;
    assert!(
        problems.is_empty(),
        "{} answers do not follow the document:\n{}",
        problems.len(),
        problems.join("\n")
    );
    checked
}

/// Every recorded answer of `api` (and of its clones) that the document at `/openapi.json`
/// does not describe (an operation missing, a status not listed, a body its schema refuses),
/// with how many answers were checked.
pub async fn answers_against_the_document(api: &Api) -> (usize, Vec<String>) {
    let doc = api.call(Method::GET, "/openapi.json", &[], None).await.body;
    assert!(doc["paths"].is_object(), "the server serves its document");
    let components = doc["components"].clone();
    let exchanges: Vec<Exchange> = api.exchanges.lock().unwrap().clone();
    let mut problems = Vec::new();
    let mut checked = 0;
    for exchange in &exchanges {
        let Exchange {
            method,
            path,
            status,
            body,
        } = exchange;
        let what = format!("{method} {path} -> {status}");
        if path == "/openapi.json" || path == "/metrics" {
            continue;
        }
        let Some((template, op)) = operation(&doc, method, path) else {
            // Unknown routes answer 404/405 in the envelope; tests/api/openapi.rs checks those.
            if ![404, 405].contains(status) {
                problems.push(format!("{what}: no operation in the document"));
            }
            continue;
        };
        let responses = &op["responses"];
        let Some(response) = responses
            .get(status.to_string())
            .or_else(|| responses.get(format!("{}XX", status / 100)))
            .or_else(|| responses.get("default"))
        else {
            problems.push(format!("{what}: status not listed for {template}"));
            continue;
        };
        let Some(schema) = response.pointer("/content/application~1json/schema") else {
            if !body.is_null() {
                problems.push(format!(
                    "{what}: a JSON body where {template} documents none"
                ));
            }
            continue;
        };
        let mut schema: Map<String, Value> = match schema {
            Value::Object(schema) => schema.clone(),
            other => panic!("{template}: schema is not an object: {other}"),
        };
        // References point into `#/components`: carry them in the schema's own root.
        schema.insert("components".into(), components.clone());
        let validator = jsonschema::draft202012::new(&Value::Object(schema))
            .unwrap_or_else(|e| panic!("{template} {status}: the schema does not compile: {e}"));
        let errors: Vec<String> = validator.iter_errors(body).map(|e| e.to_string()).collect();
        if !errors.is_empty() {
            problems.push(format!("{what}: {}\n  body: {body}", errors.join("; ")));
        }
        checked += 1;
    }
    (checked, problems)
}
