"""schemathesis hooks of scripts/fuzz-api.sh: the rules of free-form JSON, in JSON Schema.

The document at /openapi.json states these rules in words only (client generators take no
schema that refers to itself, and no `propertyNames`), and the server enforces them with a 400:

- object keys starting with `$` are refused anywhere in a request body (component `ExtraJson`,
  the `additionalProperties` of every body object that takes other fields, says so);
- free-form client data (component `PlainJson`: an address) has no key starting with `$` or
  holding `.` or NUL at any depth, no integer above 2^63 - 1, and is at most 8 levels deep
  (`ecom_core::validate::plain_json`).

Before schemathesis reads the document, this hook puts them back as JSON Schema (any JSON
without `$` keys, recursive; client data unrolled level by level, which states the depth), so that generated valid data keeps to them and generated invalid data breaks them. It fails
when the document no longer has those components, rather than fuzz with rules that rotted.
"""

from __future__ import annotations

from typing import Any

import schemathesis

PREFIX = "#/components/schemas/"
EXTRA = "ExtraJson"
PLAIN = "PlainJson"
PLAIN_VALUE = "PlainJsonValue"
# How deep client data may be: its members are at level 1, theirs at level 2, and so on.
PLAIN_DEPTH = 8

# Any key not starting with `$`.
NO_OPERATOR_KEY = {"type": "string", "pattern": r"^([^$][\s\S]*)?$"}
# Any key not starting with `$` and holding neither `.` nor NUL.
PLAIN_KEY = {"type": "string", "pattern": "^([^$.\\x00][^.\\x00]*)?$"}
MAX_INTEGER = 9_223_372_036_854_775_807


def ref(name: str) -> dict[str, str]:
    return {"$ref": PREFIX + name}


def strict_schemas() -> dict[str, Any]:
    """The components, as the rules the server applies."""
    return {
        # Any JSON without object keys starting with `$`.
        EXTRA: {
            "oneOf": [
                {"type": ["null", "boolean", "number", "string"]},
                {"type": "array", "items": ref(EXTRA)},
                {"type": "object", "propertyNames": NO_OPERATOR_KEY, "additionalProperties": ref(EXTRA)},
            ],
        },
        # An object of plain JSON values, as below.
        PLAIN: plain_object(1),
        **{f"{PLAIN_VALUE}{level}": plain_value(level) for level in range(1, PLAIN_DEPTH + 1)},
    }


def plain_object(level: int) -> dict[str, Any]:
    """An object of client data whose members are at `level`; past the last level, empty."""
    if level > PLAIN_DEPTH:
        return {"type": "object", "maxProperties": 0}
    return {"type": "object", "propertyNames": PLAIN_KEY, "additionalProperties": ref(f"{PLAIN_VALUE}{level}")}


def plain_value(level: int) -> dict[str, Any]:
    """A value of client data at `level`: what it holds is one level deeper."""
    items: dict[str, Any] = {"maxItems": 0} if level >= PLAIN_DEPTH else {"items": ref(f"{PLAIN_VALUE}{level + 1}")}
    return {
        "oneOf": [
            {"type": ["null", "boolean", "string"]},
            {"type": "number", "maximum": MAX_INTEGER},
            {"type": "array", **items},
            plain_object(level + 1),
        ],
    }


def forbid_operator_keys(value: Any) -> int:
    """Adds `propertyNames` to each object schema in `value` whose other fields are `ExtraJson`;
    returns how many it changed."""
    changed = 0
    if isinstance(value, dict):
        if value.get("additionalProperties") == ref(EXTRA) and "propertyNames" not in value:
            value["propertyNames"] = dict(NO_OPERATOR_KEY)
            changed += 1
        for inner in value.values():
            changed += forbid_operator_keys(inner)
    elif isinstance(value, list):
        for inner in value:
            changed += forbid_operator_keys(inner)
    return changed


@schemathesis.hook
def before_load_schema(context: Any, raw_schema: dict[str, Any]) -> None:
    schemas = raw_schema.get("components", {}).get("schemas", {})
    missing = [name for name in (EXTRA, PLAIN) if name not in schemas]
    if missing or any(name.startswith(PLAIN_VALUE) for name in schemas):
        raise RuntimeError(
            f"scripts/schemathesis_hooks.py: the document's components changed (missing {missing}, "
            f"or {PLAIN_VALUE} taken): update the hook"
        )
    if forbid_operator_keys(raw_schema) == 0:
        raise RuntimeError("scripts/schemathesis_hooks.py: no body takes other fields as ExtraJson")
    schemas.update(strict_schemas())
