"""The xAPI IRIs the SQL models test for have one home, macros/xapi_vocabulary.sql, and it
names the same verbs and activity types as the Python side (skillstream/xapi/profile.py)."""

from __future__ import annotations

import re
from pathlib import Path

from skillstream.ingestion.sources.tutor import INTERACTION_TYPE
from skillstream.xapi.profile import (
    ADL_ACTIVITIES,
    ADL_VERBS,
    ASSESSMENT_TYPE,
    COURSE_TYPE,
    FEEDBACK_RECEIVED_VERB,
    HINT_REQUESTED_VERB,
    MODULE_TYPE,
    PROFILE_VERBS,
    VOIDED_VERB,
)
from tests.conftest import REPO

DBT = REPO / "dbt_project"
VOCABULARY = DBT / "macros" / "xapi_vocabulary.sql"
ENTRY = re.compile(r"'([\w.-]+)': '([^']+)'")


def macro_entries(macro: str) -> dict[str, str]:
    text = VOCABULARY.read_text()
    body = text[text.index(f"macro {macro}()") :]
    body = body[: body.index("endmacro")]
    return dict(ENTRY.findall(body))


def test_the_verbs_are_the_profiles() -> None:
    verbs = macro_entries("xapi_verbs")
    for name, iri in verbs.items():
        assert iri in (f"{ADL_VERBS}/{name}", f"{PROFILE_VERBS}/{name}"), name
    used_by_python = {VOIDED_VERB, HINT_REQUESTED_VERB, FEEDBACK_RECEIVED_VERB}
    assert used_by_python <= set(verbs.values())


def test_the_activity_types_are_the_profiles() -> None:
    types = macro_entries("xapi_activity_types")
    for name, iri in types.items():
        assert iri == f"{ADL_ACTIVITIES}/{name}", name
    assert {COURSE_TYPE, MODULE_TYPE, ASSESSMENT_TYPE, INTERACTION_TYPE} <= set(types.values())


def test_no_model_spells_an_iri_itself() -> None:
    offenders = [
        f"{path.relative_to(DBT)}:{number}"
        for path in sorted((DBT / "models").rglob("*.sql"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"'[a-z]+://", line)
    ]
    assert offenders == []


def test_the_mastery_threshold_is_a_var_not_a_literal() -> None:
    models = [Path(p) for p in (DBT / "models").rglob("*.sql")]
    uses = [p.name for p in models if "var('mastery_threshold')" in p.read_text()]
    assert "int_learner_skills_summarised.sql" in uses
    assert not [p.name for p in models if re.search(r"\b0\.8\b", p.read_text())]
