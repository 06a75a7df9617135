{#- Every assumption the ROI marts use, with its value as the build used it. -#}
{%- set currency = var('roi_currency') -%}
{%- set rows = [
    ('programme_cost_per_learner', var('roi_programme_cost_per_learner'), currency ~ ' per learner',
     'Programme spend per learner (licences, design, delivery), counted once per learner in the quarter of their first program statement.'),
    ('loaded_hourly_cost', var('roi_loaded_hourly_cost'), currency ~ ' per hour',
     "Loaded cost of one hour of a learner's time, used when the roster gives no hourly_cost."),
    ('value_of_competent_day', var('roi_value_of_competent_day'), currency ~ ' per day',
     "Value of a learner reaching competency on a skill one day earlier than the baseline cohort's median."),
    ('baseline_cohort', var('baseline_cohort'), 'cohort',
     'Cohort the seat time saved and the days of competency gained are measured against.'),
    ('benefit_period_months', var('roi_benefit_period_months'), 'months',
     'Period over which KPI gains are counted; payback months assume benefits accrue evenly over it.'),
    ('kpi_window_days', var('roi_kpi_window_days'), 'days',
     'KPI mean over this many days before competency is compared with the mean over as many days after it.'),
    ('mastery_threshold', var('mastery_threshold'), 'score.scaled',
     'A statement with result.score.scaled at or above this, or verb mastered, shows competency.'),
] -%}
{%- for name, value in var('roi_kpi_values').items() -%}
    {%- do rows.append(('kpi_value:' ~ name, value, currency ~ ' per unit per day',
        'Value of a one-unit change in KPI ' ~ name ~ ' for one learner (or team) for one day.')) -%}
{%- endfor -%}

with

assumptions as (
    select * from (values
        {%- for name, value, unit, description in rows %}
        (
            '{{ name | replace("'", "''") }}',
            '{{ value | string | replace("'", "''") }}',
            {{ value if value is number else 'null' }},
            '{{ unit | replace("'", "''") }}',
            '{{ description | replace("'", "''") }}'
        ){{ "," if not loop.last }}
        {%- endfor %}
    ) as assumption (name, value, numeric_value, unit, description)
),

final as (
    select
        name,
        value,
        cast(numeric_value as double) as numeric_value,
        unit,
        description
    from assumptions
)

select * from final
