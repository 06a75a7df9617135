//! JSON values as the Python normaliser sees them, read and written the way orjson does.
//!
//! Objects keep their keys in document order (the landed statement keeps the producer's
//! order) and a duplicated key is refused, as `strict_json.loads` refuses it. Writing follows
//! `orjson.dumps` byte for byte: compact, non-ASCII text as UTF-8, control characters as
//! `\u00xx` (or `\b \f \n \r \t`), floats in Python's shortest repr with orjson's exponent
//! (`1e+16`, `1e-7`). Anything this module is not sure to read the way orjson does is an
//! error, and the statement goes the Python way.

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// A JSON value; its text borrows from the bytes read wherever it holds no escape.
pub enum J<'a> {
    Null,
    Bool(bool),
    I(i64),
    U(u64),
    F(f64),
    S(Cow<'a, str>),
    A(Vec<J<'a>>),
    O(Vec<(Cow<'a, str>, J<'a>)>),
}

impl<'a> J<'a> {
    pub fn get(&self, key: &str) -> Option<&J<'a>> {
        match self {
            J::O(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn str(&self) -> Option<&str> {
        match self {
            J::S(s) => Some(s.as_ref()),
            _ => None,
        }
    }

    pub fn entries(&self) -> Option<&[(Cow<'a, str>, J<'a>)]> {
        match self {
            J::O(entries) => Some(entries),
            _ => None,
        }
    }

    /// Python's truthiness, for `value or {}`.
    pub fn truthy(&self) -> bool {
        match self {
            J::Null => false,
            J::Bool(b) => *b,
            J::I(i) => *i != 0,
            J::U(u) => *u != 0,
            J::F(f) => *f != 0.0,
            J::S(s) => !s.is_empty(),
            J::A(a) => !a.is_empty(),
            J::O(o) => !o.is_empty(),
        }
    }
}

/// Objects with more keys than this go the Python way (the duplicate check is quadratic).
const MAX_KEYS: usize = 64;

impl<'de> Deserialize<'de> for J<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<J<'de>, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

/// An object key, borrowed where it holds no escape (also `intake.rs`'s scanner's).
pub(crate) struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = J<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<J<'de>, E> {
        Ok(J::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<J<'de>, E> {
        Ok(J::I(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<J<'de>, E> {
        Ok(J::U(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<J<'de>, E> {
        // serde_json reads `-0` as the float -0.0, orjson as the integer 0: not guessed at.
        if v == 0.0 && v.is_sign_negative() {
            return Err(E::custom("negative zero"));
        }
        Ok(J::F(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<J<'de>, E> {
        Ok(J::S(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<J<'de>, E> {
        Ok(J::S(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<J<'de>, E> {
        Ok(J::S(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<J<'de>, E> {
        Ok(J::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<J<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(J::A(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<J<'de>, A::Error> {
        let mut entries: Vec<(Cow<'de, str>, J<'de>)> = Vec::new();
        while let Some(key) = map.next_key_seed(Key)? {
            if entries.len() >= MAX_KEYS {
                return Err(de::Error::custom("too many keys"));
            }
            if entries.iter().any(|(k, _)| *k == key) {
                return Err(de::Error::custom("duplicate key"));
            }
            let value = map.next_value()?;
            entries.push((key, value));
        }
        Ok(J::O(entries))
    }
}

/// The document, or None when it is not surely read as orjson reads it.
///
/// The whole document is checked as UTF-8 at once, then read as text: read from bytes,
/// serde_json would check each string on its own (the same documents are accepted).
pub fn parse(bytes: &[u8]) -> Option<J<'_>> {
    serde_json::from_str(std::str::from_utf8(bytes).ok()?).ok()
}

/// The bytes a JSON string escapes: control characters, the quote and the backslash.
const ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = true;
        i += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Whether any byte is escaped, eight bytes at a time: a byte below 0x20, or equal to `"` or
/// `\`, sets the high bit of its lane in one of the three masks (the classic has-less-than and
/// has-zero-byte tests; bytes of 0x80 and above never set it).
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let v = u64::from_le_bytes(chunk.try_into().expect("chunks of eight"));
        let quote = v ^ (ONES * u64::from(b'"'));
        let backslash = v ^ (ONES * u64::from(b'\\'));
        let found = (v.wrapping_sub(ONES * 0x20) & !v)
            | (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash);
        if found & HIGHS != 0 {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| ESCAPED[b as usize])
}

pub fn write_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    if !needs_escape(bytes) {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !ESCAPED[b as usize] {
            continue;
        }
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// A finite float as Python's `repr` (shortest digits that read back the same) with
/// orjson's notation: fixed for exponents -5..15 (Python's repr: -4..15), else `d.ddde+X` / `d.ddde-X`.
pub fn write_f64(out: &mut Vec<u8>, x: f64) {
    if x == 0.0 {
        out.extend_from_slice(if x.is_sign_negative() {
            b"-0.0"
        } else {
            b"0.0"
        });
        return;
    }
    // The fewest digits that read back the same, as "-1.2345e-7" or "1e16"; then those many
    // digits correctly rounded, ties to even: where two such strings are equally near
    // (-3.48001861572265625), Python's repr takes the even one, Rust's shortest the other.
    let shortest = format!("{x:e}");
    let digit_count = shortest
        .split('e')
        .next()
        .map_or(1, |m| m.bytes().filter(u8::is_ascii_digit).count());
    let sci = format!("{:.*e}", digit_count - 1, x);
    let (mantissa, exponent) = sci.split_once('e').expect("LowerExp writes an exponent");
    let exponent: i32 = exponent
        .parse()
        .expect("LowerExp writes an integer exponent");
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: Vec<u8> = mantissa.bytes().filter(|b| *b != b'.').collect();
    if negative {
        out.push(b'-');
    }
    if (-5..16).contains(&exponent) {
        if exponent >= 0 {
            let whole = exponent as usize + 1;
            for i in 0..whole {
                out.push(*digits.get(i).unwrap_or(&b'0'));
            }
            out.push(b'.');
            if digits.len() > whole {
                out.extend_from_slice(&digits[whole..]);
            } else {
                out.push(b'0');
            }
        } else {
            out.extend_from_slice(b"0.");
            for _ in 0..(-exponent - 1) {
                out.push(b'0');
            }
            out.extend_from_slice(&digits);
        }
    } else {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if exponent > 0 { b'+' } else { b'-' });
        out.extend_from_slice(exponent.unsigned_abs().to_string().as_bytes());
    }
}

/// `orjson.dumps(value)`, or with `sort_keys` `orjson.dumps(value, option=OPT_SORT_KEYS)`.
pub fn write(out: &mut Vec<u8>, value: &J<'_>, sort_keys: bool) {
    match value {
        J::Null => out.extend_from_slice(b"null"),
        J::Bool(true) => out.extend_from_slice(b"true"),
        J::Bool(false) => out.extend_from_slice(b"false"),
        J::I(i) => out.extend_from_slice(i.to_string().as_bytes()),
        J::U(u) => out.extend_from_slice(u.to_string().as_bytes()),
        J::F(f) => write_f64(out, *f),
        J::S(s) => write_str(out, s),
        J::A(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(out, item, sort_keys);
            }
            out.push(b']');
        }
        J::O(entries) => {
            let mut order: Vec<&(Cow<str>, J)> = entries.iter().collect();
            if sort_keys {
                order.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            }
            write_entries(out, order.into_iter(), sort_keys);
        }
    }
}

pub fn write_entries<'a, 'j: 'a>(
    out: &mut Vec<u8>,
    entries: impl Iterator<Item = &'a (Cow<'j, str>, J<'j>)>,
    sort_keys: bool,
) {
    out.push(b'{');
    for (i, (key, item)) in entries.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, key);
        out.push(b':');
        write(out, item, sort_keys);
    }
    out.push(b'}');
}
