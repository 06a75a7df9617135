"""The project's xAPI profile (docs/design.md §3) and the ADL vocabulary the metrics rely on."""

PROFILE = "https://w3id.org/skillstream/ext"
EXT_SKILL = f"{PROFILE}/skill"
EXT_COHORT = f"{PROFILE}/cohort"
EXT_ORG = f"{PROFILE}/org"
EXT_TEAM = f"{PROFILE}/team"
EXT_ROLE = f"{PROFILE}/role"
# Adapters (ingestion/sources/tutor.py, caliper.py): what the source said that xAPI has no
# property for. docs/sources.md documents each.
EXT_DIFFICULTY = f"{PROFILE}/difficulty"  # difficulty of a practice item, 0 (easy) .. 1 (hard)
EXT_TUTOR_SESSION = f"{PROFILE}/tutor-session"  # the AI tutor's session id
EXT_HINT_LEVEL = f"{PROFILE}/hint-level"  # 1 = first, gentlest hint
EXT_FEEDBACK_KIND = f"{PROFILE}/feedback-kind"  # e.g. corrective, encouraging, explanatory
EXT_DIFFICULTY_FROM = f"{PROFILE}/difficulty-from"
EXT_DIFFICULTY_TO = f"{PROFILE}/difficulty-to"
EXT_ADJUSTMENT_REASON = f"{PROFILE}/adjustment-reason"
EXT_SOURCE_EVENT = f"{PROFILE}/source-event"  # the original event's id, type, action
EXT_ATTRIBUTES = {"cohort": EXT_COHORT, "org": EXT_ORG, "team": EXT_TEAM, "role": EXT_ROLE}

ADL_VERBS = "http://adlnet.gov/expapi/verbs"
VOIDED_VERB = f"{ADL_VERBS}/voided"

ADL_ACTIVITIES = "http://adlnet.gov/expapi/activities"
COURSE_TYPE = f"{ADL_ACTIVITIES}/course"
MODULE_TYPE = f"{ADL_ACTIVITIES}/module"
ASSESSMENT_TYPE = f"{ADL_ACTIVITIES}/assessment"

# Verbs of the project's profile, for what neither ADL nor the video profile names.
PROFILE_VERBS = "https://w3id.org/skillstream/verbs"
HINT_REQUESTED_VERB = f"{PROFILE_VERBS}/requested-hint"
FEEDBACK_RECEIVED_VERB = f"{PROFILE_VERBS}/received-feedback"
DIFFICULTY_ADJUSTED_VERB = f"{PROFILE_VERBS}/difficulty-adjusted"
ITEM_SERVED_VERB = f"{PROFILE_VERBS}/received-item"
