{#-
    The at-risk definition (docs/models.md, at risk), one home for at_risk_weekly and
    at_risk_learners. `at_risk_inputs()`: their opening CTEs, `enrolments` (learner ×
    program), `activity` (the programs' statements that are not voided) and `built` (one row,
    built_at). `at_risk_built_at()`: the build's time (var at_risk_as_of, else now, UTC).
    `is_at_risk(checked_at)`: a learner × program row with active_at (first statement other
    than launched), completed_at and last_seen_at (latest statement before checked_at) is at
    risk at checked_at.
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

activity as (
    select learner_id, program_id, occurred_at, verb_id
    from {{ ref('int_statements_joined_to_programs') }}
    where not is_voided
),

built as (
    select {{ at_risk_built_at() }} as built_at
)
{%- endmacro %}
