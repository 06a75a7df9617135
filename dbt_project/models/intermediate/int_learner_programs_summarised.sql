{#- Incremental per learner: the learners whose program statements were modelled again
    since the last run, or whose assignment (int_learners_assigned) changed, are summarised
    again whole (delete+insert on learner_id). -#}
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

{% if is_incremental() %}
learners_to_summarise as materialized (
    {{ learners_remodelled_upstream([ref('int_statements_joined_to_programs')]) }}
    union
    {{ learners_reassigned(['cohort', 'org', 'team', 'role', 'is_pilot', 'hourly_cost']) }}
),
{% endif %}

program_statements as (
    select * from {{ ref('int_statements_joined_to_programs') }}
    where not is_voided
    {% if is_incremental() %}
        and learner_id in (select learner_id from learners_to_summarise)
    {% endif %}
),

learners as (
    select * from {{ ref('int_learners_assigned') }}
),

enrolments as (
    select
        learner_id,
        program_id,
        min(occurred_at) as first_seen_at,
        min(occurred_at) filter (where is_program_completion) as completed_at,
        -- the first statement other than launched: active in the program (at risk)
        min(occurred_at) filter (where verb_id is distinct from {{ verb('launched') }}) as active_at,
        coalesce(sum(duration_seconds), 0) / 3600.0 as seat_time_hours,
        -- without a single result.duration the seat time is unknown, not zero
        count(duration_seconds) > 0 as is_seat_time_known
    from program_statements
    group by learner_id, program_id
),

final as (
    select
        enrolments.learner_id,
        enrolments.program_id,
        learners.cohort,
        learners.org,
        learners.team,
        learners.role,
        learners.is_pilot,
        learners.hourly_cost,
        {{ quarter_of('enrolments.first_seen_at') }} as quarter,
        enrolments.first_seen_at,
        enrolments.completed_at is not null as completed,
        enrolments.completed_at,
        enrolments.active_at,
        enrolments.seat_time_hours,
        enrolments.is_seat_time_known,
        {{ modelled_now() }} as modelled_at
    from enrolments
    inner join learners using (learner_id)
)

select * from final
