//! `skillstream ingest file`'s fast path: the lines of NDJSON text, each strictly parsed and
//! keyed by learner, so Python only hands them to librdkafka.
//!
//! A line is *accepted* only when it is surely what the Python reader
//! (`ingestion/sources/file.py::_parse`) accepts, a JSON object read as `strict_json.loads`
//! reads it, and its actor surely names the learner `produce.partition_key` names. Every
//! other line is *declined*: the Python reader takes it, decides, and words the reasons, so
//! a dead letter says what it says without this module.

use crate::json::{J, Key};
use crate::validate::IFI_KEYS;
use crate::{PSEUDONYM_HOME_PAGE, sha256_hex};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

/// `bytes.strip()`: Python's ASCII white space at both ends.
fn strip(line: &[u8]) -> &[u8] {
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
    let start = line.iter().position(|b| !space(b)).unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|b| !space(b))
        .map_or(start, |i| i + 1);
    &line[start..end]
}

/// Objects with more keys than this are declined (the duplicate check is quadratic).
const MAX_KEYS: usize = 64;

/// A JSON value checked as `strict_json.loads` checks it (no key twice in one object) and
/// not kept: reading a statement builds nothing but its actor.
struct Checked;

impl<'de> DeserializeSeed<'de> for Checked {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Checked {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Checked)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut keys: Vec<Cow<'de, str>> = Vec::new();
        while let Some(key) = map.next_key_seed(Key)? {
            check_new(&mut keys, key)?;
            map.next_value_seed(Checked)?;
        }
        Ok(())
    }
}

fn check_new<'de, E: de::Error>(
    keys: &mut Vec<Cow<'de, str>>,
    key: Cow<'de, str>,
) -> Result<(), E> {
    if keys.len() >= MAX_KEYS || keys.contains(&key) {
        return Err(E::custom("declined: duplicate or too many keys"));
    }
    keys.push(key);
    Ok(())
}

/// A statement: a JSON object, checked whole, of which only the actor is kept.
struct Statement;

impl<'de> Visitor<'de> for Statement {
    type Value = Option<J<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut keys, mut actor) = (Vec::new(), None);
        while let Some(key) = map.next_key_seed(Key)? {
            if key == "actor" {
                actor = Some(map.next_value::<J<'de>>()?);
            } else {
                map.next_value_seed(Checked)?;
            }
            check_new(&mut keys, key)?;
        }
        Ok(actor)
    }
}

/// The actor of a line that is surely a statement as the Python reader reads it (the actor
/// None when it has none); None for any other line.
fn statement_actor(line: &[u8]) -> Option<Option<J<'_>>> {
    let text = std::str::from_utf8(line).ok()?;
    let mut reader = serde_json::Deserializer::from_str(text);
    let actor = reader.deserialize_map(Statement).ok()?;
    reader.end().ok()?;
    Some(actor)
}

/// Who an actor names, as `identity.agent_learner_id` reads it.
enum Learner<'a> {
    /// An agent pseudonymised before: its learner id as it is.
    Pseudonym(&'a str),
    /// The canonical IFI the learner id is the salted hash of.
    Ifi(String),
}

/// Who an actor names, where `identity.agent_learner_id` surely reads it so; None for every
/// other actor (an anonymous Group, a malformed or non-ASCII mbox, no single IFI).
fn learner<'a>(actor: &'a J<'a>) -> Option<Learner<'a>> {
    let present: Vec<&str> = IFI_KEYS
        .into_iter()
        .filter(|key| actor.get(key).is_some())
        .collect();
    let account = actor.get("account");
    if present == ["account"] {
        let (home, name) = (
            account?.get("homePage")?.str()?,
            account?.get("name")?.str()?,
        );
        let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        if home == PSEUDONYM_HOME_PAGE && name.len() == 64 && name.bytes().all(hex) {
            return Some(Learner::Pseudonym(name));
        }
        return Some(Learner::Ifi(format!("{home}|{name}")));
    }
    let [key] = present.as_slice() else {
        return None;
    };
    let value = actor.get(key)?.str()?;
    match *key {
        // Python lowercases with Unicode rules; ASCII is where the two surely agree
        "mbox" if value.is_ascii() => Some(Learner::Ifi(value.to_ascii_lowercase())),
        "mbox" => None,
        _ => Some(Learner::Ifi(value.to_owned())),
    }
}

/// The partition key of a line: its statement's actor's learner id; None to decline it.
fn learner_key(line: &[u8], salt: &str, learners: &mut HashMap<String, String>) -> Option<String> {
    let actor = statement_actor(line)??;
    Some(match learner(&actor)? {
        Learner::Pseudonym(id) => id.to_owned(),
        Learner::Ifi(ifi) => learners
            .entry(ifi)
            .or_insert_with_key(|ifi| sha256_hex(&[salt.as_bytes(), ifi.as_bytes()]))
            .clone(),
    })
}

/// One non-blank line: its index in the file, where it is in the text, its key if accepted.
struct Line {
    index: usize,
    span: (usize, usize),
    key: Option<String>,
}

/// The lines of `text` from line `first` on; past `start` only, and the last one only when
/// it ends in a newline or `last` says the text is all there is. Also the bytes read and the
/// number of lines they hold.
fn scan(
    text: &[u8],
    first: usize,
    start: usize,
    salt: &str,
    last: bool,
) -> (Vec<Line>, usize, usize) {
    let mut lines = Vec::new();
    let mut learners = HashMap::new();
    let (mut at, mut index) = (0, first);
    while at < text.len() {
        let end = match text[at..].iter().position(|&b| b == b'\n') {
            Some(offset) => at + offset,
            None if last => text.len(),
            None => break,
        };
        let line = strip(&text[at..end]);
        if index >= start && !line.is_empty() {
            let offset = line.as_ptr() as usize - text.as_ptr() as usize;
            let key = learner_key(line, salt, &mut learners);
            lines.push(Line {
                index,
                span: (offset, offset + line.len()),
                key,
            });
        }
        at = end + 1;
        index += 1;
    }
    (lines, at.min(text.len()), index - first)
}

/// Read the complete lines of a piece of NDJSON text (`last`: and the line it ends in).
///
/// `first` is the index of its first line in the file; lines before `start` are skipped.
/// Returns `(rows, declined, consumed, lines)`: `(index, line, key)` for each non-blank line
/// (white space stripped; `key` the learner id as bytes, None when declined), the positions
/// in `rows` the Python reader decides, the bytes read, and the lines they hold.
#[pyfunction]
fn scan_ndjson<'py>(
    py: Python<'py>,
    text: &Bound<'py, PyBytes>,
    first: usize,
    start: usize,
    salt: &str,
    last: bool,
) -> PyResult<(Bound<'py, PyList>, Vec<usize>, usize, usize)> {
    let bytes = text.as_bytes();
    let (lines, consumed, count) = py.detach(|| scan(bytes, first, start, salt, last));
    let mut declined = Vec::new();
    let mut rows = Vec::with_capacity(lines.len());
    for (position, line) in lines.iter().enumerate() {
        let value = PyBytes::new(py, &bytes[line.span.0..line.span.1]);
        let key = match &line.key {
            Some(key) => PyBytes::new(py, key.as_bytes()).into_any(),
            None => {
                declined.push(position);
                py.None().into_bound(py)
            }
        };
        rows.push(PyTuple::new(
            py,
            [
                line.index.into_pyobject(py)?.into_any(),
                value.into_any(),
                key,
            ],
        )?);
    }
    Ok((PyList::new(py, rows)?, declined, consumed, count))
}

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(scan_ndjson, module)?)
}
