{#- Incremental per learner, like int_learner_programs_summarised. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='learner_id',
        on_schema_change='fail',
        post_hook="{{ forget_erased_learners() }}"
    )
}}
{%- set threshold = var('mastery_threshold') -%}

with

{% if is_incremental() %}
learners_to_summarise as materialized (
    {{ learners_remodelled_upstream([ref('int_statements_tagged_with_skills')]) }}
    union
    {{ learners_reassigned(['cohort', 'org', 'team', 'role', 'is_pilot']) }}
),
{% endif %}

skill_statements as (
    select * from {{ ref('int_statements_tagged_with_skills') }}
    where not is_voided
    {% if is_incremental() %}
        and learner_id in (select learner_id from learners_to_summarise)
    {% endif %}
),

learners as (
    select * from {{ ref('int_learners_assigned') }}
),

evidence as (
    select
        *,
        score_scaled >= {{ threshold }}
            or verb_id = {{ verb('mastered') }} as is_mastery_evidence
    from skill_statements
),

progress as (
    select
        learner_id,
        skill_id,
        min(occurred_at) as first_seen_at,
        min(occurred_at) filter (where is_mastery_evidence) as mastered_at,
        -- ties on the timestamp are broken by statement id, so a rebuild gives the same row
        arg_max(score_scaled, (occurred_at, statement_id))
            filter (where score_scaled is not null) as latest_score
    from evidence
    group by learner_id, skill_id
),

retention_checks as (
    -- the first scored statement on the skill at or after mastered_at + 30 days
    select
        progress.learner_id,
        progress.skill_id,
        arg_min(evidence.score_scaled, (evidence.occurred_at, evidence.statement_id))
            as retention_score
    from progress
    inner join evidence
        on evidence.learner_id = progress.learner_id
        and evidence.skill_id = progress.skill_id
        and evidence.score_scaled is not null
        and evidence.occurred_at >= progress.mastered_at + interval 30 day
    group by progress.learner_id, progress.skill_id
),

final as (
    select
        progress.learner_id,
        progress.skill_id,
        learners.cohort,
        learners.org,
        learners.team,
        learners.role,
        learners.is_pilot,
        {{ quarter_of('progress.first_seen_at') }} as quarter,
        progress.first_seen_at,
        progress.mastered_at is not null as mastered,
        progress.mastered_at,
        (epoch(progress.mastered_at) - epoch(progress.first_seen_at)) / 86400.0
            as days_to_competency,
        progress.latest_score,
        retention_checks.retention_score is not null as retention_30d_checked,
        retention_checks.retention_score >= {{ threshold }} as retention_30d_retained,
        {{ modelled_now() }} as modelled_at
    from progress
    inner join learners using (learner_id)
    left join retention_checks using (learner_id, skill_id)
)

select * from final
