//! Reading a panel's JSON answer into a provider's own types, field by field.
//!
//! Each `#[derive(Deserialize)]` type instantiates serde_json's deserializer once more,
//! which makes it the largest part of a component that reads many answer shapes. A
//! provider instead parses the body once into a [`Value`] (the one instantiation every
//! component has anyway) and reads its fields with these helpers, which check each field
//! as serde's derive would (a missing field, an `Option` that is absent or `null`, a
//! number out of range, a wrong type) and say what was wrong in serde's words:
//!
//! ```ignore
//! fn app(v: &Value) -> Result<App, String> {
//!     let o = json::object(v, "struct App")?;
//!     Ok(App {
//!         name: json::opt(o, "name", json::string)?,        // Option<String>
//!         domains: json::list_or_default(o, "domains", json::string)?, // #[serde(default)] Vec<String>
//!     })
//! }
//! let app = response.json_with(app)?;
//! ```

use serde_json::{Map, Value};

/// An object, or serde's "invalid type" error naming `expected` (`"struct App"`).
pub fn object<'a>(value: &'a Value, expected: &str) -> Result<&'a Map<String, Value>, String> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(invalid_type(other, expected)),
    }
}

/// serde's words for a value of the wrong type.
pub fn invalid_type(value: &Value, expected: &str) -> String {
    format!("invalid type: {}, expected {expected}", unexpected(value))
}

/// serde_json's description of a value in an error (`string "x"`, `integer `5``, `null`).
fn unexpected(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Number(n) if n.is_f64() => format!("floating point `{n}`"),
        Value::Number(n) => format!("integer `{n}`"),
        Value::String(s) => format!("string {s:?}"),
        Value::Array(_) => "sequence".into(),
        Value::Object(_) => "map".into(),
    }
}

/// What reads one value: a plain function (`json::string`, `App::from_json`, or a closure
/// that captures nothing), so each helper is compiled once per result type, not once per
/// call site as with a closure type.
pub type Read<T> = fn(&Value) -> Result<T, String>;

/// The field `name`. Not generic: the map search is compiled once, not in every typed
/// helper's copy.
#[inline(never)]
fn lookup<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name)
}

#[inline(never)]
fn missing_field(name: &str) -> String {
    format!("missing field `{name}`")
}

/// A required field (`missing field `name``), read by `read`.
pub fn field<T>(object: &Map<String, Value>, name: &str, read: Read<T>) -> Result<T, String> {
    match lookup(object, name) {
        Some(value) => read(value),
        None => Err(missing_field(name)),
    }
}

/// An `Option` field: absent or `null` is `None`.
pub fn opt<T>(object: &Map<String, Value>, name: &str, read: Read<T>) -> Result<Option<T>, String> {
    match lookup(object, name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => read(value).map(Some),
    }
}

/// A `#[serde(default)]` field: absent is `T::default()` (a `null` is read like any value).
pub fn or_default<T: Default>(
    object: &Map<String, Value>,
    name: &str,
    read: Read<T>,
) -> Result<T, String> {
    match lookup(object, name) {
        None => Ok(T::default()),
        Some(value) => read(value),
    }
}

/// A `#[serde(default)]` `Vec` field: absent is empty, otherwise a sequence read by `item`.
pub fn list_or_default<T>(
    object: &Map<String, Value>,
    name: &str,
    item: Read<T>,
) -> Result<Vec<T>, String> {
    match lookup(object, name) {
        None => Ok(Vec::new()),
        Some(value) => list(value, item),
    }
}

/// A sequence, each element read by `item` (the first error is the answer's).
pub fn list<T>(value: &Value, item: Read<T>) -> Result<Vec<T>, String> {
    match value {
        Value::Array(items) => {
            // A plain loop: `collect` into a `Result` compiles an iterator adapter chain
            // per element type.
            let mut out = Vec::with_capacity(items.len());
            for value in items {
                out.push(item(value)?);
            }
            Ok(out)
        }
        other => Err(invalid_type(other, "a sequence")),
    }
}

/// The value as it is (a `serde_json::Value` field).
pub fn any(value: &Value) -> Result<Value, String> {
    Ok(value.clone())
}

pub fn string(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        other => Err(invalid_type(other, "a string")),
    }
}

pub fn boolean(value: &Value) -> Result<bool, String> {
    match value {
        Value::Bool(b) => Ok(*b),
        other => Err(invalid_type(other, "a boolean")),
    }
}

pub fn u64(value: &Value) -> Result<u64, String> {
    integer(value, "u64", u64::MAX)
}

pub fn u32(value: &Value) -> Result<u32, String> {
    // The bound keeps the value in range.
    integer(value, "u32", u64::from(u32::MAX)).map(|n| n as u32)
}

/// An unsigned integer up to `max`, with serde's errors for a negative, too large or
/// fractional number.
fn integer(value: &Value, expected: &str, max: u64) -> Result<u64, String> {
    match value {
        Value::Number(n) if n.is_f64() => Err(invalid_type(value, expected)),
        Value::Number(n) => match n.as_u64() {
            Some(n) if n <= max => Ok(n),
            _ => Err(format!("invalid value: integer `{n}`, expected {expected}")),
        },
        other => Err(invalid_type(other, expected)),
    }
}

/// The value as compact JSON text, exactly what `Value`'s `Display` (`to_string()`, `{}`)
/// writes. Every printing of a `Value` goes through here: `Display` instantiates two more
/// copies of serde_json's serializer (compact and pretty, on a `fmt::Write` adapter) next
/// to the one `serde_json::to_vec` already is for request bodies.
pub fn text(value: &Value) -> String {
    // serde_json writes valid UTF-8, and serialising a `Value` to a `Vec` cannot fail.
    String::from_utf8(serde_json::to_vec(value).unwrap_or_default()).unwrap_or_default()
}

/// An object of `fields`, what `json!({"k": v, ...})` builds, without the second serializer
/// (`serde_json::to_value`) that macro instantiates for each interpolated value.
pub fn object_of(fields: Vec<(&str, Value)>) -> Value {
    // Inserted one by one: collecting into the map would sort (a stable sort's code).
    let mut map = Map::new();
    for (key, value) in fields {
        map.insert(key.into(), value);
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The helpers' words are serde's: each case is checked against a derived type.
    #[test]
    fn errors_read_as_serdes() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Shape {
            id: u32,
            name: Option<String>,
            #[serde(default)]
            tags: Vec<String>,
            #[serde(default)]
            on: bool,
            #[serde(default)]
            total: u64,
        }
        fn shape(v: &Value) -> Result<(), String> {
            let o = object(v, "struct Shape")?;
            field(o, "id", u32)?;
            opt(o, "name", string)?;
            list_or_default(o, "tags", string)?;
            or_default(o, "on", boolean)?;
            or_default(o, "total", u64)?;
            Ok(())
        }
        for case in [
            json!({"id": 1}),
            json!({"id": 1, "name": null, "tags": ["a"], "on": true, "total": 7}),
            json!({}),
            json!({"id": -1}),
            json!({"id": 5_000_000_000u64}),
            json!({"id": 1.5}),
            json!({"id": "1"}),
            json!({"id": 1, "name": 3}),
            json!({"id": 1, "tags": null}),
            json!({"id": 1, "tags": [1]}),
            json!({"id": 1, "tags": "a"}),
            json!({"id": 1, "on": null}),
            json!({"id": 1, "on": "yes"}),
            json!({"id": 1, "total": null}),
            json!({"id": 1, "total": {}}),
            json!({"id": 1, "total": false}),
            json!("text"),
            json!(null),
        ] {
            let derived = serde_json::from_value::<Shape>(case.clone())
                .map(|_| ())
                .map_err(|e| e.to_string());
            assert_eq!(shape(&case), derived, "{case}");
        }
    }

    #[test]
    fn text_is_display() {
        for case in [
            json!({"b": [1, -2, 1.5, "x\"y\u{1}é", null, true], "a": {}}),
            json!("text"),
            json!(5_000_000_000u64),
            json!(null),
            json!([]),
        ] {
            assert_eq!(text(&case), case.to_string());
        }
    }

    #[test]
    fn object_of_is_json_macro() {
        assert_eq!(
            object_of(vec![
                ("name", "a.com".into()),
                ("on", false.into()),
                ("ttl", 1.into()),
                ("ssl", object_of(vec![("type", "dv".into())])),
            ]),
            json!({"name": "a.com", "on": false, "ttl": 1, "ssl": {"type": "dv"}})
        );
    }
}
