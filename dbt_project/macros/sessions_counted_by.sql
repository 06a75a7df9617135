{#-
    The engagement marts: sessions (int_learner_sessions_sessionized) counted per period and
    group (cohort, org, team, role). `period` is the select list of the period's columns, in
    the terms of `sessions`; `counts` any further counts, each followed by a comma.
-#}
{% macro sessions_counted_by(period, counts='') %}
with

sessions as (
    select * from {{ ref('int_learner_sessions_sessionized') }}
),

learners as (
    select * from {{ ref('int_learners_assigned') }}
),

final as (
    select
        {{ period }},
        learners.cohort,
        learners.org,
        learners.team,
        learners.role,
        count(distinct sessions.learner_id) as active_learners,
        count(*) as sessions,
        sum(sessions.active_minutes) as active_minutes,
        {{ counts }}
        count(distinct sessions.learner_id) < {{ var('k_anonymity') }} as is_small_group
    from sessions
    inner join learners using (learner_id)
    group by all
)

select * from final
{% endmacro %}
