//! Stripe's form encoding: `application/x-www-form-urlencoded` with bracketed keys
//! (`a[b][c]=v`, `a[0]=v`, `a[]=v`), decoded into nested JSON whose leaves are strings.

use serde_json::{Map, Value};

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let digits = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match digits.and_then(|d| u8::from_str_radix(d, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(super) fn encode_form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub(super) fn parse_form(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Turns `metadata[order_id]=7` into `{"metadata": {"order_id": "7"}}`; objects whose keys are
/// all indexes (`a[0]`, `a[]`) become arrays. Leaves are strings.
pub(super) fn nest(pairs: &[(String, String)]) -> Map<String, Value> {
    let mut root = Map::new();
    for (key, value) in pairs {
        let path: Vec<String> = match key.split_once('[') {
            None => vec![key.clone()],
            Some((head, rest)) => std::iter::once(head.to_owned())
                .chain(rest.split('[').map(|seg| seg.trim_end_matches(']').to_owned()))
                .collect(),
        };
        insert(&mut root, &path, value);
    }
    let mut value = Value::Object(root);
    arrays(&mut value);
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn insert(map: &mut Map<String, Value>, path: &[String], value: &str) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let key = if first.is_empty() { map.len().to_string() } else { first.clone() };
    if rest.is_empty() {
        map.insert(key, Value::String(value.to_owned()));
        return;
    }
    let entry = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    if let Value::Object(child) = entry {
        insert(child, rest, value);
    }
}

fn arrays(value: &mut Value) {
    if let Value::Object(map) = value {
        for child in map.values_mut() {
            arrays(child);
        }
        if !map.is_empty() && map.keys().all(|k| k.parse::<usize>().is_ok()) {
            let mut items: Vec<(usize, Value)> = std::mem::take(map)
                .into_iter()
                .filter_map(|(k, v)| k.parse::<usize>().ok().map(|i| (i, v)))
                .collect();
            items.sort_by_key(|(i, _)| *i);
            *value = Value::Array(items.into_iter().map(|(_, v)| v).collect());
        }
    }
}
