//! A JSON value that keeps the order of object keys (a file agentbox rewrites keeps its shape),
//! JSONC comments stripped the way the agents strip them, and TOML read into the same value so
//! one walker judges every format.

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use std::fmt;

/// A parsed document: objects keep their key order (a repeated key keeps its first place and
/// its last value, as `JSON.parse` does).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as written (integers stay integers).
    Num(serde_json::Number),
    /// A string (TOML dates are kept as their text).
    Str(String),
    /// An array.
    Arr(Vec<Value>),
    /// An object, keys in file order.
    Obj(Vec<(String, Value)>),
}

impl Value {
    /// The entries when this is an object.
    pub fn as_obj(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Obj(o) => Some(o),
            _ => None,
        }
    }

    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_obj()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The string when this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl<'de> serde::Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Num(n.into()))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Num(n.into()))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Value, E> {
        // NaN and infinities (TOML has them) have no JSON number: kept as text.
        Ok(serde_json::Number::from_f64(n)
            .map(Value::Num)
            .unwrap_or_else(|| Value::Str(n.to_string())))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::Str(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::Str(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let mut v = Vec::new();
        while let Some(x) = a.next_element()? {
            v.push(x);
        }
        Ok(Value::Arr(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let mut o: Vec<(String, Value)> = Vec::new();
        while let Some((k, v)) = a.next_entry::<String, Value>()? {
            match o.iter_mut().find(|(x, _)| *x == k) {
                Some(slot) => slot.1 = v,
                None => o.push((k, v)),
            }
        }
        Ok(Value::Obj(o))
    }
}

impl serde::Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Num(n) => n.serialize(s),
            Value::Str(x) => s.serialize_str(x),
            Value::Arr(v) => {
                let mut q = s.serialize_seq(Some(v.len()))?;
                for x in v {
                    q.serialize_element(x)?;
                }
                q.end()
            }
            Value::Obj(o) => {
                let mut m = s.serialize_map(Some(o.len()))?;
                for (k, v) in o {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
    }
}

/// Strict JSON (serde_json's depth limit applies).
pub fn parse_json(bytes: &[u8]) -> Option<Value> {
    serde_json::from_slice(bytes).ok()
}

/// JSON with `//` and `/* */` comments (outside strings) read as whitespace, as Gemini CLI
/// reads its settings; also whether there were any (a rewrite would lose them).
pub fn parse_jsonc(bytes: &[u8]) -> Option<(Value, bool)> {
    let text = std::str::from_utf8(bytes).ok()?;
    let stripped = strip_comments(text)?;
    let had = stripped != text;
    Some((serde_json::from_str(&stripped).ok()?, had))
}

/// TOML, read into the same tree (tables as objects, dates as their text).
pub fn parse_toml(bytes: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(bytes).ok()?;
    let t: toml::Table = toml::from_str(text).ok()?;
    Some(from_toml(toml::Value::Table(t)))
}

fn from_toml(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::Str(s),
        toml::Value::Integer(i) => Value::Num(i.into()),
        toml::Value::Float(f) => serde_json::Number::from_f64(f)
            .map(Value::Num)
            .unwrap_or_else(|| Value::Str(f.to_string())),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::Str(d.to_string()),
        toml::Value::Array(a) => Value::Arr(a.into_iter().map(from_toml).collect()),
        toml::Value::Table(t) => {
            Value::Obj(t.into_iter().map(|(k, v)| (k, from_toml(v))).collect())
        }
    }
}

/// The value as the agents write it: two-space indentation, a final newline when `newline`.
pub fn to_pretty(v: &Value, newline: bool) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(v).unwrap_or_else(|_| b"{}".to_vec());
    if newline {
        out.push(b'\n');
    }
    out
}

/// `text` with its comments replaced by spaces (newlines kept); `None` for a comment that
/// never ends.
fn strip_comments(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let mut in_str = false;
    while i < b.len() {
        let c = b[i];
        if in_str {
            out.push(c);
            if c == b'\\' && i + 1 < b.len() {
                out.push(b[i + 1]);
                i += 2;
                continue;
            }
            in_str = c != b'"';
            i += 1;
            continue;
        }
        match (c, b.get(i + 1)) {
            (b'"', _) => {
                in_str = true;
                out.push(c);
                i += 1;
            }
            (b'/', Some(b'/')) => {
                while i < b.len() && b[i] != b'\n' {
                    out.push(b' ');
                    i += 1;
                }
            }
            (b'/', Some(b'*')) => {
                let end = text[i + 2..].find("*/")? + i + 4;
                for &x in &b[i..end] {
                    out.push(if x == b'\n' { b'\n' } else { b' ' });
                }
                i = end;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_key_order_and_last_value() {
        let v = parse_json(br#"{"b":1,"a":{"z":true,"y":null},"b":2}"#).unwrap();
        let o = v.as_obj().unwrap();
        assert_eq!(o[0].0, "b");
        assert_eq!(o[0].1, Value::Num(2.into()));
        assert_eq!(o[1].0, "a");
        let text = String::from_utf8(to_pretty(&v, true)).unwrap();
        assert_eq!(
            text,
            "{\n  \"b\": 2,\n  \"a\": {\n    \"z\": true,\n    \"y\": null\n  }\n}\n"
        );
    }

    #[test]
    fn jsonc_and_toml() {
        let (v, had) = parse_jsonc(b"{\n // c\n \"a\": \"x // not a comment\" /* b */\n}").unwrap();
        assert!(had);
        assert_eq!(
            v.get("a").and_then(Value::as_str),
            Some("x // not a comment")
        );
        assert!(parse_jsonc(b"{\"a\": 1 /* open").is_none());
        let (_, had) = parse_jsonc(b"{\"a\": \"\\\"//\"}").unwrap();
        assert!(!had);
        let t =
            parse_toml(b"model = \"m\"\n[projects.\"/w\"]\ntrust_level = \"trusted\"\n").unwrap();
        let p = t.get("projects").and_then(|p| p.get("/w")).unwrap();
        assert_eq!(
            p.get("trust_level").and_then(Value::as_str),
            Some("trusted")
        );
        assert!(parse_toml(b"[[oops").is_none());
    }
}
