//! Generates a JSON instance valid against a JSON Schema (or the OpenAPI subset
//! Gemini uses, with uppercase types). Deterministic: strings come from a seeded
//! word sequence. Covers what tool and response schemas use in practice: types,
//! enum/const, required/properties, items, min/max, anyOf/oneOf/allOf, $ref.

use serde_json::{Map, Number, Value, json};

use crate::text::Words;

const MAX_DEPTH: usize = 12;

/// An instance of `schema`; `root` resolves local `$ref`s.
pub fn instance(schema: &Value, words: &mut Words) -> Value {
    let mut g = Gen {
        root: schema,
        words,
    };
    g.value(schema, 0)
}

struct Gen<'a, 'w> {
    root: &'a Value,
    words: &'w mut Words,
}

impl<'a> Gen<'a, '_> {
    fn value(&mut self, schema: &'a Value, depth: usize) -> Value {
        let Some(obj) = schema.as_object() else {
            // `true` / `{}` accept anything; `false` accepts nothing anyway.
            return Value::String(self.words.next_word().into());
        };
        if depth > MAX_DEPTH {
            return Value::Null;
        }
        if let Some(r) = obj.get("$ref").and_then(Value::as_str)
            && let Some(target) = self.resolve(r)
        {
            return self.value(target, depth + 1);
        }
        if let Some(c) = obj.get("const") {
            return c.clone();
        }
        if let Some(first) = obj
            .get("enum")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
        {
            return first.clone();
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            if let Some(first) = obj.get(key).and_then(Value::as_array).and_then(|a| {
                // Prefer a non-null branch so nullable unions still carry data.
                a.iter()
                    .find(|s| type_name(s).as_deref() != Some("null"))
                    .or(a.first())
            }) {
                if key == "allOf" {
                    return self.all_of(obj, depth);
                }
                return self.value(first, depth + 1);
            }
        }
        match type_name(schema).as_deref() {
            Some("object") => self.object(obj, depth),
            Some("array") => self.array(obj, depth),
            Some("string") => self.string(obj),
            Some("integer") => Value::Number(Number::from(int_value(obj))),
            Some("number") => number_value(obj),
            Some("boolean") => Value::Bool(true),
            Some("null") => Value::Null,
            _ if obj.contains_key("properties") => self.object(obj, depth),
            _ if obj.contains_key("items") => self.array(obj, depth),
            _ => Value::String(self.words.next_word().into()),
        }
    }

    fn resolve(&self, r: &str) -> Option<&'a Value> {
        let path = r.strip_prefix('#')?;
        if path.is_empty() {
            return Some(self.root);
        }
        self.root.pointer(path)
    }

    fn all_of(&mut self, obj: &'a Map<String, Value>, depth: usize) -> Value {
        let mut merged = Map::new();
        for part in obj
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            match self.value(part, depth + 1) {
                Value::Object(m) => merged.extend(m),
                other => return other,
            }
        }
        Value::Object(merged)
    }

    fn object(&mut self, obj: &'a Map<String, Value>, depth: usize) -> Value {
        let mut out = Map::new();
        if let Some(props) = obj.get("properties").and_then(Value::as_object) {
            for (name, sub) in props {
                out.insert(name.clone(), self.value(sub, depth + 1));
            }
        }
        // Required names without a property schema still have to be present.
        for name in obj
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = name.as_str()
                && !out.contains_key(name)
            {
                out.insert(name.into(), Value::String(self.words.next_word().into()));
            }
        }
        Value::Object(out)
    }

    fn array(&mut self, obj: &'a Map<String, Value>, depth: usize) -> Value {
        let min = obj.get("minItems").and_then(Value::as_u64).unwrap_or(1);
        let max = obj
            .get("maxItems")
            .and_then(Value::as_u64)
            .unwrap_or(u64::MAX);
        let n = min.max(1).min(max).min(16);
        if let Some(prefix) = obj.get("prefixItems").and_then(Value::as_array) {
            return Value::Array(prefix.iter().map(|s| self.value(s, depth + 1)).collect());
        }
        let item = obj.get("items").unwrap_or(&Value::Bool(true));
        Value::Array((0..n).map(|_| self.value(item, depth + 1)).collect())
    }

    fn string(&mut self, obj: &Map<String, Value>) -> Value {
        let format = obj.get("format").and_then(Value::as_str).unwrap_or("");
        let s = match format {
            "date-time" => "2024-01-01T00:00:00Z".to_string(),
            "date" => "2024-01-01".to_string(),
            "time" => "12:00:00".to_string(),
            "email" => format!("{}@example.com", self.words.next_word()),
            "uri" | "url" => format!("https://example.com/{}", self.words.next_word()),
            "uuid" => "00000000-0000-4000-8000-000000000000".to_string(),
            _ => self.words.next_word().to_string(),
        };
        let min = obj.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = obj
            .get("maxLength")
            .and_then(Value::as_u64)
            .map(|m| m as usize);
        let mut s = s;
        while s.chars().count() < min {
            s.push('x');
        }
        if let Some(max) = max {
            s = s.chars().take(max).collect();
        }
        Value::String(s)
    }
}

/// The schema's type, lowercased (Gemini uses `OBJECT`); the first non-null
/// entry when `type` is an array.
fn type_name(schema: &Value) -> Option<String> {
    match schema.get("type")? {
        Value::String(s) => Some(s.to_ascii_lowercase()),
        Value::Array(a) => {
            let names: Vec<&str> = a.iter().filter_map(Value::as_str).collect();
            names
                .iter()
                .find(|t| !t.eq_ignore_ascii_case("null"))
                .or(names.first())
                .map(|t| t.to_ascii_lowercase())
        }
        _ => None,
    }
}

fn bound(obj: &Map<String, Value>, key: &str) -> Option<f64> {
    obj.get(key).and_then(Value::as_f64)
}

fn int_value(obj: &Map<String, Value>) -> i64 {
    let mut v: i64 = 1;
    if let Some(min) = bound(obj, "minimum") {
        v = v.max(min.ceil() as i64);
    }
    if let Some(min) = bound(obj, "exclusiveMinimum") {
        v = v.max(min.floor() as i64 + 1);
    }
    if let Some(max) = bound(obj, "maximum") {
        v = v.min(max.floor() as i64);
    }
    if let Some(max) = bound(obj, "exclusiveMaximum") {
        v = v.min(max.ceil() as i64 - 1);
    }
    v
}

fn number_value(obj: &Map<String, Value>) -> Value {
    let mut v = 1.5_f64;
    if let Some(min) = bound(obj, "minimum") {
        v = v.max(min);
    }
    if let Some(min) = bound(obj, "exclusiveMinimum") {
        v = v.max(min + 0.5);
    }
    if let Some(max) = bound(obj, "maximum") {
        v = v.min(max);
    }
    if let Some(max) = bound(obj, "exclusiveMaximum") {
        v = v.min(max - 0.5);
    }
    json!(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_with_everything() {
        let schema = json!({
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 3},
                "tags": {"type": "array", "items": {"type": "string"}},
                "opts": {"type": "OBJECT", "properties": {"deep": {"type": "BOOLEAN"}}},
                "maybe": {"type": ["null", "number"]},
                "ref": {"$ref": "#/$defs/thing"}
            },
            "required": ["city", "extra"],
            "$defs": {"thing": {"type": "integer"}}
        });
        let v = instance(&schema, &mut Words::new(7));
        assert_eq!(v["unit"], "celsius");
        assert_eq!(v["days"], 3);
        assert_eq!(v["opts"]["deep"], true);
        assert_eq!(v["maybe"], 1.5);
        assert_eq!(v["ref"], 1);
        assert!(v["city"].is_string() && v["extra"].is_string());
        assert_eq!(v["tags"].as_array().map(Vec::len), Some(1));
    }
}
