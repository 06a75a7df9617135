//! skillstream's compiled module: the transform's normaliser (here) and `ingest file`'s
//! NDJSON reader (`intake.rs`), each a fast path held to its Python reference.
//!
//! `normalise_batch(values, salt)` reads a batch of Kafka record values and, for each
//! statement it is sure of, computes the row `transforms/normalise.py::normalise` computes,
//! byte for byte, into Arrow column buffers. Every other record (invalid, or of a shape the
//! rules here do not cover) is *declined*: the Python normaliser takes it, decides, and words
//! the reasons. Python stays the reference; this only makes the common case cheap.

mod formats;
mod intake;
mod json;
mod validate;

use json::J;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use sha1::Digest;
use std::borrow::Cow;
use std::panic::{self, AssertUnwindSafe};

// The normaliser allocates a small object for nearly every JSON value it reads; mimalloc's
// thread-local heaps serve the normaliser threads without the contention of glibc's arenas.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PSEUDONYM_HOME_PAGE: &str = "urn:skillstream:learner";
const COURSE_TYPE: &str = "http://adlnet.gov/expapi/activities/course";
// skillstream/xapi/profile.py
const EXT_SKILL: &str = "https://w3id.org/skillstream/ext/skill";
const EXT_ATTRIBUTES: [&str; 4] = [
    "https://w3id.org/skillstream/ext/cohort",
    "https://w3id.org/skillstream/ext/org",
    "https://w3id.org/skillstream/ext/team",
    "https://w3id.org/skillstream/ext/role",
];
const CONTENT_EXCLUDED: [&str; 4] = ["id", "stored", "authority", "version"];

fn hex(digest: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(digest.len() * 2);
    for b in digest {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 0xf) as usize] as char);
    }
    out
}

// SHA-256 through ring: its assembly (from OpenSSL's) picks SHA extensions, AVX or SSSE3 at
// run time. The sha2 crate's portable code, on a CPU without SHA extensions, is 1.6-1.8x
// slower, and hashing ~1 KB a statement is a large share of a transform run.
fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    for part in parts {
        context.update(part);
    }
    hex(context.finish().as_ref())
}

/// `derived_statement_id`: the name-based (SHA-1, version 5) UUID of the content hash in
/// the project's namespace, for a statement that came without an id.
fn derived_statement_id(content_hash: &str) -> String {
    const NAMESPACE: [u8; 16] = [
        0x0b, 0x6a, 0x2c, 0x1e, 0x3f, 0x59, 0x4d, 0x7e, 0x9a, 0x1c, 0x5e, 0x7d, 0x2b, 0x8f, 0x4c,
        0x60,
    ];
    let mut hasher = sha1::Sha1::new();
    hasher.update(NAMESPACE);
    hasher.update(content_hash.as_bytes());
    let mut bytes: [u8; 16] = hasher.finalize()[..16]
        .try_into()
        .expect("SHA-1 has 20 bytes");
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let text = hex(&bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &text[..8],
        &text[8..12],
        &text[12..16],
        &text[16..20],
        &text[20..]
    )
}

/// `canonical_ifi` of an actor the rules accepted (an Agent with one ASCII IFI).
fn canonical_ifi(actor: &J<'_>) -> Option<String> {
    if let Some(mbox) = actor.get("mbox") {
        return Some(mbox.str()?.to_ascii_lowercase());
    }
    if let Some(account) = actor.get("account") {
        let (home, name) = (account.get("homePage")?.str()?, account.get("name")?.str()?);
        return Some(format!("{home}|{name}"));
    }
    actor
        .get("mbox_sha1sum")
        .or_else(|| actor.get("openid"))?
        .str()
        .map(str::to_owned)
}

/// `pseudonymous_agent` of an Agent actor: the learner id as an account, no name, no IFI.
fn pseudonymous_agent<'j>(learner: &str) -> J<'j> {
    let text = |value: &'static str| J::S(Cow::Borrowed(value));
    J::O(vec![
        (Cow::Borrowed("objectType"), text("Agent")),
        (
            Cow::Borrowed("account"),
            J::O(vec![
                (Cow::Borrowed("homePage"), text(PSEUDONYM_HOME_PAGE)),
                (Cow::Borrowed("name"), J::S(Cow::Owned(learner.to_owned()))),
            ]),
        ),
    ])
}

/// `agent_learner_id` of an agent pseudonymised before (an account of the pseudonym home page
/// named by a learner id): that id, so pseudonymising again changes nothing.
fn pseudonym_of<'a>(agent: &'a J<'a>) -> Option<&'a str> {
    let account = agent.get("account")?;
    (account.get("homePage")?.str()? == PSEUDONYM_HOME_PAGE).then_some(())?;
    let name = account.get("name")?.str()?;
    let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    (name.len() == 64 && name.bytes().all(hex)).then_some(name)
}

fn has_upper_case(id: Option<&str>) -> bool {
    id.is_some_and(|id| id.bytes().any(|b| b.is_ascii_uppercase()))
}

fn as_list<'a>(value: Option<&'a J<'a>>) -> &'a [J<'a>] {
    match value {
        None | Some(J::Null) => &[],
        Some(J::A(items)) => items,
        Some(one) => std::slice::from_ref(one),
    }
}

/// `_text`: a non-empty string, else None.
fn text<'a>(value: Option<&'a J<'a>>) -> Option<&'a str> {
    value.and_then(J::str).filter(|s| !s.is_empty())
}

/// `value or {}` of Python, as an optional object.
fn or_empty<'a>(value: Option<&'a J<'a>>) -> Option<&'a J<'a>> {
    value.filter(|v| v.truthy())
}

fn boolean(value: Option<&J<'_>>) -> Option<bool> {
    match value? {
        J::Bool(b) => Some(*b),
        _ => None,
    }
}

struct Row<'a> {
    statement_id: String,
    strings: [Option<&'a str>; 6], // verb_id, object_id, object_type, activity type, response, voids
    attributes: [Option<&'a str>; 4], // cohort, org, team, role
    lists: [Vec<&'a str>; 4],      // declared courses, parents, groupings, skills
    scores: [Option<f64>; 4],      // scaled, raw, min, max
    duration: Option<f64>,
    flags: [Option<bool>; 2], // success, completion
    occurred: Option<i64>,
    stored: Option<i64>,
    learner: String,
    content_hash: String,
    statement: Vec<u8>,
}

/// A batch's learner ids by canonical IFI: a learner sends many statements, and each id is a
/// SHA-256 of its own.
type Learners = std::collections::HashMap<String, String>;

fn normalise<'a>(statement: &'a J<'a>, salt: &str, learners: &mut Learners) -> Option<Row<'a>> {
    validate::surely_valid(statement)?;
    let actor = statement.get("actor")?;
    let learner = match pseudonym_of(actor) {
        Some(id) => id.to_owned(),
        None => learners
            .entry(canonical_ifi(actor)?)
            .or_insert_with_key(|ifi| sha256_hex(&[salt.as_bytes(), ifi.as_bytes()]))
            .clone(),
    };
    let target = statement.get("object")?;
    let object_type = target.get("objectType").map_or(Some("Activity"), J::str)?;
    let definition = or_empty(target.get("definition"));
    let context = or_empty(statement.get("context"));
    let context_activities = context.and_then(|c| or_empty(c.get("contextActivities")));
    let activity_lists = ["parent", "grouping", "category", "other"]
        .map(|key| as_list(context_activities.and_then(|c| c.get(key))));

    let mut courses: Vec<&str> = Vec::new();
    let target_is_activity = object_type == "Activity";
    let candidates = target_is_activity.then_some(target).into_iter().chain(
        activity_lists
            .iter()
            .flat_map(|items| items.iter())
            .filter(|a| matches!(a, J::O(_))),
    );
    for activity in candidates {
        let is_course = or_empty(activity.get("definition"))
            .and_then(|d| d.get("type"))
            .and_then(J::str)
            == Some(COURSE_TYPE);
        if let (true, Some(id)) = (is_course, activity.get("id").and_then(J::str)) {
            courses.push(id);
        }
    }
    courses.sort_unstable();
    courses.dedup();
    let ids = |items: &'a [J]| -> Vec<&'a str> {
        items
            .iter()
            .filter_map(|a| a.get("id").and_then(J::str))
            .collect()
    };

    // extension maps in order of precedence: the context's, then the object definition's
    let sources: Vec<&J> = [
        context.and_then(|c| c.get("extensions")),
        definition.and_then(|d| d.get("extensions")),
    ]
    .into_iter()
    .flatten()
    .filter(|e| matches!(e, J::O(_)))
    .collect();
    let mut skills: Vec<&str> = Vec::new();
    let mut attributes: [Option<&str>; 4] = [None; 4];
    for ext in &sources {
        for skill in as_list(ext.get(EXT_SKILL)) {
            if let Some(skill) = text(Some(skill))
                && !skills.contains(&skill)
            {
                skills.push(skill);
            }
        }
        for (slot, key) in attributes.iter_mut().zip(EXT_ATTRIBUTES) {
            if slot.is_none() {
                *slot = text(ext.get(key));
            }
        }
    }

    let result = or_empty(statement.get("result"));
    let score = result.and_then(|r| or_empty(r.get("score")));
    let score_of = |key| score.and_then(|s| s.get(key)).and_then(validate::number);
    let duration = match result.and_then(|r| r.get("duration")) {
        Some(J::S(d)) => Some(formats::duration_seconds(d.as_ref())?),
        _ => None,
    };
    let verb_id = statement.get("verb")?.get("id")?.str()?;
    let stored = match statement.get("stored") {
        Some(value) => Some(formats::timestamp_micros(value.str()?)?),
        None => None,
    };
    let occurred = match statement.get("timestamp") {
        Some(value) => Some(formats::timestamp_micros(value.str()?)?),
        None => None,
    };
    let object_id = target.get("id").and_then(J::str);
    let voids = (verb_id == validate::VOIDED_VERB && object_type == "StatementRef")
        .then_some(object_id)
        .flatten();
    // A StatementRef's id is stored lowercase (`pseudonymised_statement`); rewriting the
    // object or context for it is left to Python, as an upper-case reference is rare.
    let context_ref = context.and_then(|c| c.get("statement"));
    if (object_type == "StatementRef" && has_upper_case(object_id))
        || has_upper_case(context_ref.and_then(|r| r.get("id")).and_then(J::str))
    {
        return None;
    }

    // The statement as stored names no one: the actor is the pseudonymous learner (the
    // rules here take no other Agent or Group), the id lowercase.
    let actor_entry = (Cow::Borrowed("actor"), pseudonymous_agent(&learner));
    let entries: Vec<&(Cow<str>, J)> = statement
        .entries()?
        .iter()
        .map(|entry| {
            if entry.0 == "actor" {
                &actor_entry
            } else {
                entry
            }
        })
        .collect();

    // content_hash: the stored statement less the properties the LRS sets, keys sorted
    let mut canonical = Vec::with_capacity(1024);
    let mut content: Vec<_> = entries
        .iter()
        .copied()
        .filter(|(k, _)| !CONTENT_EXCLUDED.contains(&k.as_ref()))
        .collect();
    content.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    json::write_entries(&mut canonical, content.into_iter(), true);
    let content_hash = sha256_hex(&[&canonical]);
    let statement_id = match statement.get("id") {
        Some(id) => id.str()?.to_ascii_lowercase(),
        None => derived_statement_id(&content_hash),
    };

    let mut landed = Vec::with_capacity(canonical.len() + 64);
    landed.push(b'{');
    for (i, (key, value)) in entries.iter().copied().enumerate() {
        if i > 0 {
            landed.push(b',');
        }
        json::write_str(&mut landed, key);
        landed.push(b':');
        if key == "id" {
            json::write_str(&mut landed, &statement_id);
        } else {
            json::write(&mut landed, value, false);
        }
    }
    if statement.get("id").is_none() {
        landed.extend_from_slice(b",\"id\":"); // `{**statement, "id": ...}`: a new key goes last
        json::write_str(&mut landed, &statement_id);
    }
    landed.push(b'}');

    Some(Row {
        statement_id,
        strings: [
            Some(verb_id),
            object_id,
            Some(object_type),
            text(definition.and_then(|d| d.get("type"))),
            text(result.and_then(|r| r.get("response"))),
            voids,
        ],
        attributes,
        lists: [
            courses,
            ids(activity_lists[0]),
            ids(activity_lists[1]),
            skills,
        ],
        scores: [
            score_of("scaled"),
            score_of("raw"),
            score_of("min"),
            score_of("max"),
        ],
        duration,
        flags: [
            boolean(result.and_then(|r| r.get("success"))),
            boolean(result.and_then(|r| r.get("completion"))),
        ],
        occurred,
        stored,
        learner,
        content_hash,
        statement: landed,
    })
}

// ---- Arrow buffers ---------------------------------------------------------------------

#[derive(Default)]
struct Bits {
    bytes: Vec<u8>,
    len: usize,
    unset: usize,
}

impl Bits {
    fn push(&mut self, bit: bool) {
        if self.len.is_multiple_of(8) {
            self.bytes.push(0);
        }
        if bit {
            *self.bytes.last_mut().expect("a byte was pushed") |= 1 << (self.len % 8);
        } else {
            self.unset += 1;
        }
        self.len += 1;
    }
}

struct Strings {
    valid: Bits,
    offsets: Vec<i32>,
    data: Vec<u8>,
}

impl Strings {
    fn new() -> Self {
        Strings {
            valid: Bits::default(),
            offsets: vec![0],
            data: Vec::new(),
        }
    }
    fn push(&mut self, value: Option<&[u8]>) {
        self.valid.push(value.is_some());
        self.data.extend_from_slice(value.unwrap_or_default());
        self.offsets.push(self.data.len() as i32);
    }
}

struct Lists {
    offsets: Vec<i32>,
    items: Strings,
}

struct Numbers<T> {
    valid: Bits,
    values: Vec<T>,
}

impl<T: Default + Copy> Numbers<T> {
    fn new() -> Self {
        Numbers {
            valid: Bits::default(),
            values: Vec::new(),
        }
    }
    fn push(&mut self, value: Option<T>) {
        self.valid.push(value.is_some());
        self.values.push(value.unwrap_or_default());
    }
}

fn le_bytes<T: Copy, const N: usize>(values: &[T], to: impl Fn(T) -> [u8; N]) -> Vec<u8> {
    values.iter().flat_map(|v| to(*v)).collect()
}

const STRING_COLUMNS: [&str; 7] = [
    "statement_id",
    "verb_id",
    "object_id",
    "object_type",
    "object_activity_type",
    "response",
    "voids_statement_id",
];
const ATTRIBUTE_COLUMNS: [&str; 4] = ["cohort", "org", "team", "role"];
const LIST_COLUMNS: [&str; 4] = [
    "declared_course_ids",
    "parent_ids",
    "grouping_ids",
    "skill_ids",
];
const SCORE_COLUMNS: [&str; 4] = ["score_scaled", "score_raw", "score_min", "score_max"];
const FLAG_COLUMNS: [&str; 2] = ["success", "completion"];

/// A batch's rows as Arrow buffers, built without the Python interpreter.
struct Batch {
    positions: Vec<u32>,
    declined: Vec<usize>,
    strings: Vec<Strings>,
    lists: Vec<Lists>,
    floats: Vec<Numbers<f64>>,
    flags: Vec<Numbers<bool>>,
    times: Vec<Numbers<i64>>,
}

fn normalise_values(values: &[Option<&[u8]>], salt: &str) -> Batch {
    let mut batch = Batch {
        positions: Vec::with_capacity(values.len()),
        declined: Vec::new(),
        strings: (0..STRING_COLUMNS.len() + ATTRIBUTE_COLUMNS.len() + 3)
            .map(|_| Strings::new())
            .collect(),
        lists: (0..LIST_COLUMNS.len())
            .map(|_| Lists {
                offsets: vec![0],
                items: Strings::new(),
            })
            .collect(),
        floats: (0..SCORE_COLUMNS.len() + 1)
            .map(|_| Numbers::new())
            .collect(),
        flags: (0..FLAG_COLUMNS.len()).map(|_| Numbers::new()).collect(),
        times: (0..2).map(|_| Numbers::new()).collect(),
    };
    let input_bytes: usize = values.iter().flatten().map(|b| b.len()).sum();
    let statements = batch.strings.last_mut().expect("the statement column");
    statements.data.reserve(input_bytes + input_bytes / 4);
    statements.offsets.reserve(values.len());
    let mut learners = Learners::new();
    for (position, bytes) in values.iter().enumerate() {
        let parsed = bytes.and_then(json::parse);
        // A panic here would be a bug of this module: the record goes the Python way instead
        // of the batch failing (the default hook still reports it on stderr).
        let made = parsed.as_ref().and_then(|statement| {
            panic::catch_unwind(AssertUnwindSafe(|| {
                normalise(statement, salt, &mut learners)
            }))
            .ok()
            .flatten()
        });
        let Some(row) = made else {
            batch.declined.push(position);
            continue;
        };
        batch.positions.push(position as u32);
        let text_values = [Some(row.statement_id.as_str())]
            .into_iter()
            .chain(row.strings.iter().chain(&row.attributes).copied())
            .chain([Some(row.learner.as_str()), Some(row.content_hash.as_str())]);
        for (column, value) in batch.strings.iter_mut().zip(text_values) {
            column.push(value.map(str::as_bytes));
        }
        batch
            .strings
            .last_mut()
            .expect("the statement column")
            .push(Some(&row.statement));
        for (column, items) in batch.lists.iter_mut().zip(&row.lists) {
            for item in items {
                column.items.push(Some(item.as_bytes()));
            }
            column.offsets.push(column.items.offsets.len() as i32 - 1);
        }
        for (column, value) in batch
            .floats
            .iter_mut()
            .zip(row.scores.iter().chain([&row.duration]))
        {
            column.push(*value);
        }
        for (column, value) in batch.flags.iter_mut().zip(row.flags) {
            column.push(value);
        }
        batch.times[0].push(row.occurred);
        batch.times[1].push(row.stored);
    }
    batch
}

/// Normalise a batch of record values (bytes or None).
///
/// Returns `(positions, declined, columns)`: the positions of the rows made, as little-endian
/// u32; the positions left to the Python normaliser; and each column's Arrow buffers by name:
/// strings `(validity, null_count, offsets, data)`, lists of strings `(offsets, item offsets,
/// item data)`, floats, booleans and timestamps (µs, UTC; null where the statement has no
/// `stored` / `timestamp`) `(validity, null_count, values)`.
///
/// The normalising itself runs detached from the interpreter (the GIL released), so threads
/// of one process normalise batches side by side, and beside the threads that read and land.
#[pyfunction]
fn normalise_batch<'py>(
    py: Python<'py>,
    values: &Bound<'py, PyList>,
    salt: &str,
) -> PyResult<(Bound<'py, PyBytes>, Vec<usize>, Bound<'py, PyDict>)> {
    // Borrowed, not copied: the list holds the (immutable) bytes for the whole call.
    let borrowed: Vec<Bound<'py, PyAny>> = values.iter().collect();
    let slices: Vec<Option<&[u8]>> = borrowed
        .iter()
        .map(|v| v.cast::<PyBytes>().ok().map(|b| b.as_bytes()))
        .collect();
    let Batch {
        positions,
        declined,
        strings,
        lists,
        floats,
        flags,
        times,
    } = py.detach(|| normalise_values(&slices, salt));

    let columns = PyDict::new(py);
    let string_names = STRING_COLUMNS.iter().chain(&ATTRIBUTE_COLUMNS).chain(&[
        "learner_id",
        "content_hash",
        "statement",
    ]);
    for (name, column) in string_names.zip(&strings) {
        columns.set_item(
            name,
            (
                PyBytes::new(py, &column.valid.bytes),
                column.valid.unset,
                PyBytes::new(py, &le_bytes(&column.offsets, i32::to_le_bytes)),
                PyBytes::new(py, &column.data),
            ),
        )?;
    }
    for (name, column) in LIST_COLUMNS.iter().zip(&lists) {
        columns.set_item(
            name,
            (
                PyBytes::new(py, &le_bytes(&column.offsets, i32::to_le_bytes)),
                PyBytes::new(py, &le_bytes(&column.items.offsets, i32::to_le_bytes)),
                PyBytes::new(py, &column.items.data),
            ),
        )?;
    }
    // floats, booleans and timestamps: (validity, null count, values)
    let numbers = |valid: &Bits, values: &[u8]| {
        (
            PyBytes::new(py, &valid.bytes),
            valid.unset,
            PyBytes::new(py, values),
        )
    };
    let float_names = SCORE_COLUMNS.iter().chain(&["duration_seconds"]);
    for (name, column) in float_names.zip(&floats) {
        let values = le_bytes(&column.values, f64::to_le_bytes);
        columns.set_item(name, numbers(&column.valid, &values))?;
    }
    for (name, column) in FLAG_COLUMNS.iter().zip(&flags) {
        let mut bits = Bits::default();
        column.values.iter().for_each(|value| bits.push(*value));
        columns.set_item(name, numbers(&column.valid, &bits.bytes))?;
    }
    for (name, column) in ["occurred_at", "stored_at"].iter().zip(&times) {
        let values = le_bytes(&column.values, i64::to_le_bytes);
        columns.set_item(name, numbers(&column.valid, &values))?;
    }
    Ok((
        PyBytes::new(py, &le_bytes(&positions, u32::to_le_bytes)),
        declined,
        columns,
    ))
}

#[pymodule]
fn skillstream_native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(normalise_batch, module)?)?;
    intake::register(module)?;
    Ok(())
}
