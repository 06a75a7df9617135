"""The project's xAPI profile (DESIGN §3) and the ADL vocabulary the metrics rely on."""

PROFILE = "https://w3id.org/skillstream/ext"
EXT_SKILL = f"{PROFILE}/skill"
EXT_COHORT = f"{PROFILE}/cohort"
EXT_ORG = f"{PROFILE}/org"
EXT_TEAM = f"{PROFILE}/team"
EXT_ROLE = f"{PROFILE}/role"
EXT_ATTRIBUTES = {"cohort": EXT_COHORT, "org": EXT_ORG, "team": EXT_TEAM, "role": EXT_ROLE}

ADL_VERBS = "http://adlnet.gov/expapi/verbs"
VOIDED_VERB = f"{ADL_VERBS}/voided"
MASTERED_VERB = f"{ADL_VERBS}/mastered"

ADL_ACTIVITIES = "http://adlnet.gov/expapi/activities"
COURSE_TYPE = f"{ADL_ACTIVITIES}/course"
MODULE_TYPE = f"{ADL_ACTIVITIES}/module"
ASSESSMENT_TYPE = f"{ADL_ACTIVITIES}/assessment"
