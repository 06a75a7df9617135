{#-
    The at-risk definition (docs/models.md, at risk), one home for at_risk_weekly and
    at_risk_learners. `at_risk_inputs()`: their opening CTEs, `enrolments` (learner ×
    program), `activity` (the programs' statements that are not voided) and `built` (one row,
    built_at). `at_risk_built_at()`: the build's time (var at_risk_as_of, else now, UTC).
    `is_at_risk(checked_at)`: a learner × program row with active_at (first statement other
    than launched), completed_at and last_seen_at (latest statement before checked_at) is at
    risk at checked_at. `last_seen_before(rows, checked_at)`: `rows` (learner × program, with
    `checked_at`) with last_seen_at, from the learners' days of activity
    (int_learner_program_days): the latest day before checked_at's day, or the latest time
    before checked_at on that day.
-#}
{% macro at_risk_built_at() -%}
    {%- set as_of = var('at_risk_as_of') -%}
    {% if as_of %}timestamp '{{ as_of }}'{% else %}cast(timezone('UTC', now()) as timestamp){% endif %}
{%- endmacro %}

{% macro is_at_risk(checked_at) -%}
    (
        active_at < {{ checked_at }}
        and (completed_at is null or completed_at >= {{ checked_at }})
        and last_seen_at <= {{ checked_at }} - to_days({{ var('at_risk_inactive_days') }})
    )
{%- endmacro %}

{% macro at_risk_inputs() -%}
enrolments as (
    select * from {{ ref('int_learner_programs_summarised') }}
),

built as (
    select {{ at_risk_built_at() }} as built_at
)
{%- endmacro %}

{% macro last_seen_before(rows) -%}
    select
        seen_before.*,
        greatest(
            seen_before.last_seen_before_the_day,
            list_max(list_filter(same_day.seen_at_times, lambda t: t < seen_before.checked_at))
        ) as last_seen_at
    from (
        select {{ rows }}.*, days.last_seen_at as last_seen_before_the_day
        from {{ rows }}
        asof left join {{ ref('int_learner_program_days') }} as days
            on days.learner_id = {{ rows }}.learner_id
            and days.program_id = {{ rows }}.program_id
            and cast({{ rows }}.checked_at as date) > days.activity_day
    ) as seen_before
    left join (
        -- only a moment after midnight has earlier statements on its own day: the week ends
        -- are midnights, so this is the build's day at most, not every day of activity
        select * from {{ ref('int_learner_program_days') }}
        where activity_day in (
            select distinct cast(checked_at as date) from {{ rows }}
            where checked_at > cast(checked_at as date)
        )
    ) as same_day
        on same_day.learner_id = seen_before.learner_id
        and same_day.program_id = seen_before.program_id
        and same_day.activity_day = cast(seen_before.checked_at as date)
{%- endmacro %}
