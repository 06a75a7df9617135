{#-
    KPI-linked benefit per learner: for each KPI valued in var roi_kpi_values, the mean of the
    KPI in the window after the learner's competency (first mastered_at over skills) minus the
    mean in the window before it, times the value of one unit a day, times the days of the
    benefit period. A team's KPI counts from the median competency date of its competent
    members (the lower of the two middle dates for an even count), and its gain is shared
    equally among them. KPIs without a value count 0.
-#}
{%- set kpi_values = var('roi_kpi_values') -%}
{%- set window_days = var('roi_kpi_window_days') -%}
{%- set period_days = var('roi_benefit_period_months') * 365.0 / 12 -%}

with

observations as (
    select * from {{ ref('stg_business__kpi_observations') }}
),

learner_skills as (
    select * from {{ ref('int_learner_skills_summarised') }}
),

kpi_values as (
    {% if kpi_values %}
    select * from (values
        {%- for name, value in kpi_values.items() %}
        ('{{ name | replace("'", "''") }}', {{ value | float }}){{ "," if not loop.last }}
        {%- endfor %}
    ) as valued (kpi_name, value_per_unit_day)
    {% else %}
    select cast(null as varchar) as kpi_name, cast(null as double) as value_per_unit_day
    where false
    {% endif %}
),

competent_learners as (
    select
        learner_id,
        any_value(team) as team,
        cast(min(mastered_at) as date) as competent_on
    from learner_skills
    where mastered
    group by learner_id
),

competent_teams as (
    select
        team,
        cast(quantile_disc(competent_on, 0.5) as date) as competent_on,
        count(*) as competent_members
    from competent_learners
    group by team
),

subjects as (
    select learner_id, null as team, competent_on, 1 as sharers from competent_learners
    union all
    select null as learner_id, team, competent_on, competent_members as sharers
    from competent_teams
),

kpi_changes as (
    select
        subjects.learner_id,
        subjects.team,
        subjects.sharers,
        observations.kpi_name,
        avg(observations.kpi_value) filter (
            where observations.observed_on >= subjects.competent_on - {{ window_days }}
            and observations.observed_on < subjects.competent_on
        ) as mean_before,
        avg(observations.kpi_value) filter (
            where observations.observed_on > subjects.competent_on
            and observations.observed_on <= subjects.competent_on + {{ window_days }}
        ) as mean_after
    from subjects
    inner join observations
        on observations.learner_id is not distinct from subjects.learner_id
        and observations.team is not distinct from subjects.team
    group by all
),

valued as (
    select
        kpi_changes.*,
        (mean_after - mean_before) * kpi_values.value_per_unit_day * {{ period_days }}
            / sharers as gain_value
    from kpi_changes
    inner join kpi_values using (kpi_name)
    where mean_before is not null and mean_after is not null
),

shared_to_learners as (
    select learner_id, gain_value from valued where learner_id is not null
    union all
    select competent_learners.learner_id, valued.gain_value
    from valued
    inner join competent_learners on competent_learners.team = valued.team
    where valued.team is not null
),

final as (
    select learner_id, sum(gain_value) as kpi_gain_value
    from shared_to_learners
    group by learner_id
)

select * from final
