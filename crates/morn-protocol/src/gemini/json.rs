//! Small JSON helpers: compacting raw JSON text without reordering keys, and telling
//! whether a tool schema declares any parameters.

use serde_json::Value;

/// `raw` (valid JSON text) with the whitespace between tokens removed. Gemini
/// pretty-prints function-call arguments; clients expect compact text, and going
/// through `Value` would reorder keys.
pub(super) fn compact(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in raw.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_ascii_whitespace() {
            out.push(c);
        }
    }
    out
}

/// Whether a tool's JSON Schema declares parameters. A function without parameters
/// leaves the schema unset (Gemini rejects an object schema with no properties on
/// some models).
pub(super) fn has_parameters(schema: &Value) -> bool {
    match schema {
        Value::Null => false,
        Value::Object(map) => {
            if map.is_empty() {
                return false;
            }
            let is_object = map.get("type").is_none_or(|t| t == "object");
            let no_properties = map
                .get("properties")
                .is_none_or(|p| p.as_object().is_some_and(|p| p.is_empty()));
            let composite = ["anyOf", "oneOf", "allOf", "$ref"]
                .iter()
                .any(|k| map.contains_key(*k));
            !(is_object && no_properties && !composite)
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compact_keeps_strings_and_key_order() {
        let raw = "{\n  \"z\": \"a b\\\" c\",\n  \"a\": [1, 2, {\"k\": \"\\\\\"}]\n}";
        assert_eq!(
            compact(raw),
            "{\"z\":\"a b\\\" c\",\"a\":[1,2,{\"k\":\"\\\\\"}]}"
        );
    }

    #[test]
    fn empty_schemas_have_no_parameters() {
        assert!(!has_parameters(&Value::Null));
        assert!(!has_parameters(&json!({})));
        assert!(!has_parameters(
            &json!({"type": "object", "properties": {}})
        ));
        assert!(!has_parameters(
            &json!({"type": "object", "additionalProperties": false})
        ));
        assert!(has_parameters(
            &json!({"type": "object", "properties": {"q": {"type": "string"}}})
        ));
        assert!(has_parameters(&json!({"anyOf": [{"type": "object"}]})));
    }
}
