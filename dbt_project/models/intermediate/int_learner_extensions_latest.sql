{#-
    Each learner's latest non-null cohort, org, team and role extension on their non-voided
    statements (voiding ones aside). Incremental per learner: the learners with a statement
    landed since the last run, or with a statement voided since, are read again whole
    (delete+insert on learner_id). landed_at: the newest statement read, the watermark.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='learner_id',
        on_schema_change='fail',
        post_hook="{{ forget_erased_learners() }}"
    )
}}

with

statements as (
    select * from {{ ref('stg_xapi__statements') }}
    where not is_voided
        -- whoever voids a statement is not a learner for having done so
        and verb_id is distinct from {{ verb('voided') }}
    {% if is_incremental() %}
        and learner_id in ({{ learners_to_reread(ref('stg_xapi__statements')) }})
    {% endif %}
),

final as (
    select
        learner_id,
        arg_max(cohort_extension, occurred_at) filter (where cohort_extension is not null) as cohort,
        arg_max(org_extension, occurred_at) filter (where org_extension is not null) as org,
        arg_max(team_extension, occurred_at) filter (where team_extension is not null) as team,
        arg_max(role_extension, occurred_at) filter (where role_extension is not null) as role,
        max(landed_at) as landed_at
    from statements
    group by learner_id
)

select * from final
