//! The rules of `skillstream/xapi/validate.py` (xAPI 2.0.0, which accepts 1.0.x statements)
//! for the shapes learning sources send: an identified Agent as actor, an Activity or a
//! StatementRef as object, result, context with context activities, timestamps, version.
//!
//! `surely_valid` answers "valid under every rule" or "not sure". Statements with what these
//! rules do not cover (Groups, SubStatements, authority, attachments, instructors, ...) and every invalid statement are "not sure": they go the
//! Python way, which decides and words each reason. So this never accepts a statement the
//! Python validator refuses; tests/test_native.py holds it to that, statement by statement.

use crate::formats::{
    duration_seconds, is_iri, is_language_tag, is_mailto, is_sha1_hex, is_uri, is_uuid,
    is_version_2, timestamp_micros,
};
use crate::json::J;

pub const VOIDED_VERB: &str = "http://adlnet.gov/expapi/verbs/voided";
const INTERACTION_TYPES: [&str; 10] = [
    "true-false",
    "choice",
    "fill-in",
    "long-fill-in",
    "matching",
    "performance",
    "sequencing",
    "likert",
    "numeric",
    "other",
];

type Sure = Option<()>;

fn sure(condition: bool) -> Sure {
    condition.then_some(())
}

/// Each property known and not null, each checked by `check`; None for anything else.
fn properties(value: &J<'_>, check: impl Fn(&str, &J<'_>) -> Sure) -> Sure {
    for (key, item) in value.entries()? {
        if matches!(item, J::Null) {
            return None;
        }
        check(key, item)?;
    }
    Some(())
}

fn string(value: &J<'_>) -> Sure {
    sure(matches!(value, J::S(_)))
}

fn iri(value: &J<'_>) -> Sure {
    sure(value.str().is_some_and(is_iri))
}

fn uuid(value: &J<'_>) -> Sure {
    sure(value.str().is_some_and(is_uuid))
}

fn timestamp(value: &J<'_>) -> Sure {
    value.str().and_then(timestamp_micros).map(|_| ())
}

fn language_map(value: &J<'_>) -> Sure {
    for (tag, text) in value.entries()? {
        sure(is_language_tag(tag) && matches!(text, J::S(_)))?;
    }
    Some(())
}

fn extensions(value: &J<'_>) -> Sure {
    // values are free JSON, null included; only the keys are constrained
    for (key, _) in value.entries()? {
        sure(is_iri(key))?;
    }
    Some(())
}

fn account(value: &J<'_>) -> Sure {
    sure(value.get("homePage").is_some() && value.get("name").is_some())?;
    properties(value, |key, item| match key {
        "homePage" => iri(item),
        "name" => string(item),
        _ => None,
    })
}

pub(crate) const IFI_KEYS: [&str; 4] = ["mbox", "mbox_sha1sum", "openid", "account"];

fn agent(value: &J<'_>) -> Sure {
    sure(IFI_KEYS.iter().filter(|k| value.get(k).is_some()).count() == 1)?;
    properties(value, |key, item| match key {
        "objectType" => sure(item.str() == Some("Agent")),
        "name" => string(item),
        "mbox" => sure(item.str().is_some_and(is_mailto)),
        "mbox_sha1sum" => sure(item.str().is_some_and(is_sha1_hex)),
        "openid" => sure(item.str().is_some_and(is_uri)),
        "account" => account(item),
        _ => None,
    })
}

fn verb(value: &J<'_>) -> Sure {
    sure(value.get("id").is_some())?;
    properties(value, |key, item| match key {
        "id" => iri(item),
        "display" => language_map(item),
        _ => None,
    })
}

/// Interaction components (Data 2.4.4.1.1): objects with a distinct string id and an
/// optional description.
fn components(value: &J<'_>) -> Sure {
    let J::A(items) = value else { return None };
    let mut seen: Vec<&str> = Vec::with_capacity(items.len());
    for item in items {
        let id = item.get("id")?.str()?;
        sure(!seen.contains(&id))?;
        seen.push(id);
        properties(item, |key, field| match key {
            "id" => string(field),
            "description" => language_map(field),
            _ => None,
        })?;
    }
    Some(())
}

/// The component lists each interaction type may carry.
fn components_allowed(interaction: Option<&str>, list: &str) -> bool {
    matches!(
        (interaction, list),
        (Some("choice" | "sequencing"), "choices")
            | (Some("likert"), "scale")
            | (Some("matching"), "source" | "target")
            | (Some("performance"), "steps")
    )
}

fn definition(value: &J<'_>) -> Sure {
    let interaction = value.get("interactionType");
    let interaction_type = interaction.and_then(J::str);
    properties(value, |key, item| match key {
        "name" | "description" => language_map(item),
        "type" | "moreInfo" => iri(item),
        "extensions" => extensions(item),
        "interactionType" => sure(item.str().is_some_and(|t| INTERACTION_TYPES.contains(&t))),
        "correctResponsesPattern" => match item {
            J::A(items) if interaction.is_some() => {
                sure(items.iter().all(|i| matches!(i, J::S(_))))
            }
            _ => None,
        },
        "choices" | "scale" | "source" | "target" | "steps" => {
            sure(components_allowed(interaction_type, key))?;
            components(item)
        }
        _ => None,
    })
}

fn activity(value: &J<'_>) -> Sure {
    sure(value.get("id").is_some())?;
    properties(value, |key, item| match key {
        "objectType" => sure(item.str() == Some("Activity")),
        "id" => iri(item),
        "definition" => definition(item),
        _ => None,
    })
}

fn statement_ref(value: &J<'_>) -> Sure {
    sure(value.get("objectType").and_then(J::str) == Some("StatementRef"))?;
    sure(value.get("id").is_some())?;
    properties(value, |key, item| match key {
        "objectType" => Some(()),
        "id" => uuid(item),
        _ => None,
    })
}

/// A JSON number Python compares exactly as this f64 does; big integers go the Python way.
/// (Also the score columns' value: `float(value)` of a number the rules accepted.)
pub fn number(value: &J<'_>) -> Option<f64> {
    const EXACT: u64 = 1 << 53;
    match value {
        J::I(i) if i.unsigned_abs() <= EXACT => Some(*i as f64),
        J::U(u) if *u <= EXACT => Some(*u as f64),
        J::F(f) if f.is_finite() => Some(*f),
        _ => None,
    }
}

fn score(value: &J<'_>) -> Sure {
    properties(value, |key, item| match key {
        "scaled" | "raw" | "min" | "max" => number(item).map(|_| ()),
        _ => None,
    })?;
    let field = |key| value.get(key).and_then(number);
    let (scaled, raw, low, high) = (field("scaled"), field("raw"), field("min"), field("max"));
    sure(scaled.is_none_or(|s| (-1.0..=1.0).contains(&s)))?;
    if let (Some(low), Some(high)) = (low, high) {
        sure(low < high)?;
    }
    if let Some(raw) = raw {
        sure(low.is_none_or(|low| raw >= low) && high.is_none_or(|high| raw <= high))?;
    }
    Some(())
}

fn result(value: &J<'_>) -> Sure {
    properties(value, |key, item| match key {
        "score" => score(item),
        "success" | "completion" => sure(matches!(item, J::Bool(_))),
        "response" => string(item),
        "duration" => item.str().and_then(duration_seconds).map(|_| ()),
        "extensions" => extensions(item),
        _ => None,
    })
}

fn context_activities(value: &J<'_>) -> Sure {
    properties(value, |key, item| match key {
        "parent" | "grouping" | "category" | "other" => match item {
            J::A(items) => items.iter().try_for_each(activity),
            _ => activity(item),
        },
        _ => None,
    })
}

fn context(value: &J<'_>, object_is_activity: bool) -> Sure {
    properties(value, |key, item| match key {
        "registration" => uuid(item),
        "contextActivities" => context_activities(item),
        // Data 2.4.6: revision and platform only when the object is an Activity
        "revision" | "platform" => sure(object_is_activity && matches!(item, J::S(_))),
        "language" => sure(item.str().is_some_and(is_language_tag)),
        "statement" => statement_ref(item),
        "extensions" => extensions(item),
        _ => None, // instructor, team, contextAgents, contextGroups: the Python way
    })
}

/// Whether the statement is valid under every rule of the Python validator, surely.
pub fn surely_valid(statement: &J<'_>) -> Sure {
    statement.get("actor")?;
    let (verb_value, target) = (statement.get("verb")?, statement.get("object")?);
    let object_type = target.get("objectType").map_or(Some("Activity"), J::str)?;
    let voiding = verb_value.get("id").and_then(J::str) == Some(VOIDED_VERB);
    sure(!voiding || object_type == "StatementRef")?;
    properties(statement, |key, item| match key {
        "id" => uuid(item),
        "actor" => match item.get("objectType").map_or(Some("Agent"), J::str) {
            Some("Agent") => agent(item),
            _ => None,
        },
        "verb" => verb(item),
        "object" => match object_type {
            "Activity" => activity(item),
            "StatementRef" => statement_ref(item),
            _ => None,
        },
        "result" => result(item),
        "context" => context(item, object_type == "Activity"),
        "timestamp" | "stored" => timestamp(item),
        "version" => sure(item.str().is_some_and(is_version_2)),
        _ => None, // authority, attachments, unknown properties: the Python way
    })
}
