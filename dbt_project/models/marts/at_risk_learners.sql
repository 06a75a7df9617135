{#-
    The learners at risk in a program at the build's time, by learner id: at_risk_weekly's
    definition and vars (at_risk_inactive_days, at_risk_as_of) judged once, at the build's
    time. Only `skillstream report at-risk` reads it, to name them where a roster is held.
-#}
with

{{ at_risk_inputs() }},

judged as (
    select
        enrolments.learner_id,
        enrolments.program_id,
        enrolments.cohort,
        enrolments.org,
        enrolments.team,
        enrolments.role,
        enrolments.completed_at,
        built.built_at,
        max(activity.occurred_at) as last_seen_at,
        min(activity.occurred_at) filter (
            where activity.verb_id is distinct from {{ verb('launched') }}
        ) as active_at
    from enrolments
    cross join built
    inner join activity
        on activity.learner_id = enrolments.learner_id
        and activity.program_id = enrolments.program_id
        and activity.occurred_at < built.built_at
    group by all
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
