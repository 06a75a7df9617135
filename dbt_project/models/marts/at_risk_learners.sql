{#-
    The learners at risk in a program at the build's time, by learner id: at_risk_weekly's
    definition and vars (at_risk_inactive_days, at_risk_as_of) judged once, at the build's
    time. Only `skillstream report at-risk` reads it, to name them where a roster is held.
    The ASOF join of last_seen_before: see at_risk_weekly's asof_loop_join_threshold.
-#}
{{ config(
    pre_hook="set asof_loop_join_threshold = 0",
    post_hook="reset asof_loop_join_threshold",
) }}

with

{{ at_risk_inputs() }},

candidates as (
    select enrolments.*, built.built_at, built.built_at as checked_at
    from enrolments
    cross join built
),

judged as (
    {{ last_seen_before('candidates') }}
),

final as (
    select
        learner_id,
        program_id,
        cohort,
        org,
        team,
        role,
        last_seen_at,
        cast(date_diff('day', last_seen_at, built_at) as integer) as days_inactive
    from judged
    where {{ is_at_risk('built_at') }}
)

select * from final
