//! Product kinds (the factory registry): plug-in types that validate a product's attributes.
//!
//! Kinds are registered once at start-up in a [`ProductKindRegistry`]; services look them up by
//! name and never branch on kind names. The built-ins (`Clothing`, `Electronics`, `Furniture`)
//! are plain [`FieldsKind`] values; a crate outside ecom adds its own by implementing
//! [`ProductKind`] and calling [`ProductKindRegistry::register`].

use crate::error::{Error, Result};
use crate::variant::Variation;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

/// Longest accepted text attribute, in characters.
pub const MAX_ATTRIBUTE_LEN: usize = 200;

/// A kind of product: knows which attributes are valid and how to normalize them.
pub trait ProductKind: Send + Sync + Debug + 'static {
    /// The kind's name, e.g. `Clothing` (what `NewProduct::kind` names).
    fn name(&self) -> &str;

    /// Validates a complete attribute map and returns its normalized form.
    /// Errors are [`Error::Validation`] naming the field as `attributes.<name>`.
    fn normalize(&self, attributes: Map<String, Value>) -> Result<Map<String, Value>>;

    /// Extra words this product should be found by in keyword search (already normalized
    /// attributes in); none by default.
    fn search_terms(&self, attributes: &Map<String, Value>) -> Vec<String> {
        let _ = attributes;
        Vec::new()
    }

    /// The JSON Schema of the attribute maps [`normalize`](ProductKind::normalize) accepts,
    /// for API documents (an OpenAPI 3.1 schema object). `None`, the default, documents them as
    /// any object.
    fn attributes_schema(&self) -> Option<Value> {
        None
    }

    /// Checks a product's tiers of variation ([`crate::variant`]), already trimmed and
    /// checked for shape; errors name `variations`. The default accepts any tiers.
    fn check_variations(&self, variations: &[Variation]) -> Result<()> {
        let _ = variations;
        Ok(())
    }
}

/// A tier a [`FieldsKind`] knows: a product's tier of this name (ignoring case) may only use
/// these options (ignoring case).
#[derive(Clone, Copy, Debug)]
pub struct KnownTier {
    /// The tier's name, e.g. `Size`.
    pub name: &'static str,
    /// The options it may use.
    pub options: &'static [&'static str],
}

/// The sizes a `Clothing` product's `Size` tier may use.
pub const CLOTHING_SIZES: &[&str] = &[
    "XXS",
    "XS",
    "S",
    "M",
    "L",
    "XL",
    "XXL",
    "3XL",
    "4XL",
    "5XL",
    "Free Size",
];

/// One text attribute of a [`FieldsKind`].
#[derive(Clone, Copy, Debug)]
pub struct TextField {
    /// Attribute name.
    pub name: &'static str,
    /// Whether it must be present and non-empty.
    pub required: bool,
    /// Whether its words are added to the search terms.
    pub searchable: bool,
}

impl TextField {
    /// A required, searchable text attribute.
    pub const fn required(name: &'static str) -> Self {
        TextField {
            name,
            required: true,
            searchable: true,
        }
    }

    /// An optional text attribute, not searchable.
    pub const fn optional(name: &'static str) -> Self {
        TextField {
            name,
            required: false,
            searchable: false,
        }
    }
}

/// A kind described by a list of text attributes: strings are trimmed, must be at most
/// [`MAX_ATTRIBUTE_LEN`] characters, required ones must be non-empty, and unknown attributes
/// are rejected.
#[derive(Debug, Clone)]
pub struct FieldsKind {
    name: &'static str,
    fields: &'static [TextField],
    tiers: &'static [KnownTier],
}

impl FieldsKind {
    /// A kind named `name` with `fields`.
    pub const fn new(name: &'static str, fields: &'static [TextField]) -> Self {
        FieldsKind {
            name,
            fields,
            tiers: &[],
        }
    }

    /// With tiers of variation it knows (see [`KnownTier`]).
    pub const fn with_tiers(mut self, tiers: &'static [KnownTier]) -> Self {
        self.tiers = tiers;
        self
    }

    /// `Clothing`: brand (required), size, material; a `Size` tier of variation uses
    /// [`CLOTHING_SIZES`].
    pub const fn clothing() -> Self {
        const F: &[TextField] = &[
            TextField::required("brand"),
            TextField::optional("size"),
            TextField::optional("material"),
        ];
        const T: &[KnownTier] = &[KnownTier {
            name: "Size",
            options: CLOTHING_SIZES,
        }];
        FieldsKind::new("Clothing", F).with_tiers(T)
    }

    /// `Electronics`: manufacturer (required), model, color.
    pub const fn electronics() -> Self {
        const F: &[TextField] = &[
            TextField::required("manufacturer"),
            TextField::optional("model"),
            TextField::optional("color"),
        ];
        FieldsKind::new("Electronics", F)
    }

    /// `Furniture`: brand (required), size, material.
    pub const fn furniture() -> Self {
        const F: &[TextField] = &[
            TextField::required("brand"),
            TextField::optional("size"),
            TextField::optional("material"),
        ];
        FieldsKind::new("Furniture", F)
    }
}

/// The field name used in errors about attribute `name`.
pub fn attribute_field(name: &str) -> String {
    format!("attributes.{name}")
}

impl ProductKind for FieldsKind {
    fn name(&self) -> &str {
        self.name
    }

    fn normalize(&self, attributes: Map<String, Value>) -> Result<Map<String, Value>> {
        if let Some(unknown) = attributes
            .keys()
            .find(|k| !self.fields.iter().any(|f| f.name == k.as_str()))
        {
            return Err(Error::validation(
                attribute_field(unknown),
                format!("is not an attribute of {}", self.name),
            ));
        }
        let mut out = Map::new();
        for field in self.fields {
            let text = match attributes.get(field.name) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.trim().to_owned()),
                Some(_) => {
                    return Err(Error::validation(
                        attribute_field(field.name),
                        "must be a string",
                    ))
                }
            };
            match text {
                Some(t) if t.chars().count() > MAX_ATTRIBUTE_LEN => {
                    return Err(Error::validation(
                        attribute_field(field.name),
                        format!("must be at most {MAX_ATTRIBUTE_LEN} characters"),
                    ));
                }
                Some(t) if !t.is_empty() => {
                    out.insert(field.name.to_owned(), Value::String(t));
                }
                _ if field.required => {
                    return Err(Error::validation(
                        attribute_field(field.name),
                        "is required",
                    ));
                }
                _ => {}
            }
        }
        Ok(out)
    }

    fn attributes_schema(&self) -> Option<Value> {
        let properties: Map<String, Value> = self
            .fields
            .iter()
            .map(|field| {
                let schema = if field.required {
                    serde_json::json!({
                        "type": "string",
                        "maxLength": MAX_ATTRIBUTE_LEN,
                        "pattern": "\\S",
                    })
                } else {
                    serde_json::json!({
                        "type": ["string", "null"],
                        "maxLength": MAX_ATTRIBUTE_LEN,
                    })
                };
                (field.name.to_owned(), schema)
            })
            .collect();
        let required: Vec<&str> = self
            .fields
            .iter()
            .filter(|f| f.required)
            .map(|f| f.name)
            .collect();
        Some(serde_json::json!({
            "type": "object",
            "description": format!(
                "Attributes of {}: text, trimmed, at most {MAX_ATTRIBUTE_LEN} characters; \
                 required ones must not be blank; `null` is the same as leaving one out",
                self.name
            ),
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        }))
    }

    fn check_variations(&self, variations: &[Variation]) -> Result<()> {
        for tier in variations {
            let Some(known) = self
                .tiers
                .iter()
                .find(|k| k.name.eq_ignore_ascii_case(&tier.name))
            else {
                continue;
            };
            if let Some(bad) = tier
                .options
                .iter()
                .find(|o| !known.options.iter().any(|k| k.eq_ignore_ascii_case(o)))
            {
                return Err(Error::validation(
                    "variations",
                    format!(
                        "{} is not a {} of {} (one of: {})",
                        bad,
                        known.name,
                        self.name,
                        known.options.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    fn search_terms(&self, attributes: &Map<String, Value>) -> Vec<String> {
        self.fields
            .iter()
            .filter(|f| f.searchable)
            .filter_map(|f| attributes.get(f.name).and_then(Value::as_str))
            .map(str::to_owned)
            .collect()
    }
}

/// The registered product kinds, by name. Built once at start-up, then shared read-only.
#[derive(Debug, Clone, Default)]
pub struct ProductKindRegistry {
    kinds: BTreeMap<String, Arc<dyn ProductKind>>,
}

impl ProductKindRegistry {
    /// An empty registry.
    pub fn empty() -> Self {
        Self::default()
    }

    /// A registry with the built-in kinds: Clothing, Electronics, Furniture.
    pub fn with_builtins() -> Self {
        let mut registry = Self::empty();
        for kind in [
            FieldsKind::clothing(),
            FieldsKind::electronics(),
            FieldsKind::furniture(),
        ] {
            registry.kinds.insert(kind.name.to_owned(), Arc::new(kind));
        }
        registry
    }

    /// Registers a kind; [`Error::AlreadyExists`] if its name is taken.
    pub fn register(&mut self, kind: Arc<dyn ProductKind>) -> Result<()> {
        let name = kind.name().to_owned();
        if name.trim().is_empty() {
            return Err(Error::validation("kind", "kind name must not be empty"));
        }
        if self.kinds.contains_key(&name) {
            return Err(Error::already_exists("product kind"));
        }
        self.kinds.insert(name, kind);
        Ok(())
    }

    /// The kind named `name`; [`Error::InvalidProductType`] if none.
    pub fn get(&self, name: &str) -> Result<&Arc<dyn ProductKind>> {
        self.kinds
            .get(name)
            .ok_or_else(|| Error::InvalidProductType(name.chars().take(64).collect()))
    }

    /// Names of all registered kinds, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.kinds.keys().map(String::as_str)
    }

    /// All registered kinds, sorted by name.
    pub fn kinds(&self) -> impl Iterator<Item = &Arc<dyn ProductKind>> {
        self.kinds.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn fields_kinds_document_what_they_accept() {
        let registry = ProductKindRegistry::with_builtins();
        let names: Vec<&str> = registry.kinds().map(|k| k.name()).collect();
        assert_eq!(names, ["Clothing", "Electronics", "Furniture"]);
        let schema = registry
            .get("Electronics")
            .unwrap()
            .attributes_schema()
            .unwrap();
        assert_eq!(schema["required"], json!(["manufacturer"]));
        assert_eq!(schema["additionalProperties"], json!(false));
        assert_eq!(
            schema["properties"]["manufacturer"]["maxLength"],
            json!(MAX_ATTRIBUTE_LEN)
        );
        assert_eq!(
            schema["properties"]["color"]["type"],
            json!(["string", "null"])
        );
    }

    #[test]
    fn electronics_requires_manufacturer() {
        let registry = ProductKindRegistry::with_builtins();
        let kind = registry.get("Electronics").unwrap();
        let err = kind.normalize(obj(json!({"model": "X"}))).unwrap_err();
        assert!(
            matches!(err, Error::Validation { ref field, .. } if field == "attributes.manufacturer")
        );
        let ok = kind
            .normalize(obj(json!({"manufacturer": "  Acme ", "color": null})))
            .unwrap();
        assert_eq!(Value::Object(ok), json!({"manufacturer": "Acme"}));
    }

    #[test]
    fn unknown_attributes_and_kinds_are_rejected() {
        let registry = ProductKindRegistry::with_builtins();
        let clothing = registry.get("Clothing").unwrap();
        assert!(clothing
            .normalize(obj(json!({"brand": "b", "$gt": ""})))
            .is_err());
        assert!(clothing
            .normalize(obj(json!({"brand": {"$gt": ""}})))
            .is_err());
        assert!(matches!(
            registry.get("Food"),
            Err(Error::InvalidProductType(_))
        ));
    }
}
