{#-
    ROI (Phillips) per quarter x cohort (docs/design.md §4). A learner counts in the quarter of
    their first statement in any program. Assumptions come from vars (the `roi` settings)
    and are listed in marts.roi_assumptions.
      costs    = programme cost per learner + seat-time hours x hourly cost
                 (the roster's hourly_cost, else the loaded hourly cost)
      benefits = seat time saved against the baseline cohort's mean per learner x hourly cost
                 (learners with a known seat time only, see below)
               + days to competency gained against the baseline cohort's median on the skill
                 x value of a competent day
               + KPI-linked gains (int_kpi_gains_valued)
    The baseline cohort has no seat-time or competency-day benefit against itself.
    A learner's seat time is known when each of their programs has a statement with a
    result.duration; a learner without one has an unknown seat time, not zero, so neither
    the baseline's mean nor anyone's seat time saved counts them, and seat_time_coverage
    says which share of the learners the seat-time figures stand on.
-#}
{%- set baseline = var('baseline_cohort') -%}

with

learner_programs as (
    select * from {{ ref('int_learner_programs_summarised') }}
),

learner_skills as (
    select * from {{ ref('int_learner_skills_summarised') }}
),

kpi_gains as (
    select * from {{ ref('int_kpi_gains_valued') }}
),

learners as (
    select
        learner_id,
        any_value(cohort) as cohort,
        {{ quarter_of('min(first_seen_at)') }} as quarter,
        sum(seat_time_hours) as seat_time_hours,
        bool_and(is_seat_time_known) as is_seat_time_known,
        coalesce(any_value(hourly_cost), cast({{ var('roi_loaded_hourly_cost') }} as double))
            as hourly_cost
    from learner_programs
    group by learner_id
),

baseline_seat_time as (
    select avg(seat_time_hours) as mean_seat_time_hours
    from learners
    where cohort = '{{ baseline }}' and is_seat_time_known
),

baseline_competency as (
    select skill_id, quantile_cont(days_to_competency, 0.5) as median_days_to_competency
    from learner_skills
    where cohort = '{{ baseline }}' and mastered
    group by skill_id
),

competency_days_gained as (
    select
        learner_skills.learner_id,
        sum(baseline_competency.median_days_to_competency - learner_skills.days_to_competency)
            as days_gained
    from learner_skills
    inner join baseline_competency using (skill_id)
    where learner_skills.mastered and learner_skills.cohort != '{{ baseline }}'
    group by learner_skills.learner_id
),

valued as (
    select
        learners.*,
        cast({{ var('roi_programme_cost_per_learner') }} as double) as programme_cost,
        learners.seat_time_hours * learners.hourly_cost as seat_time_cost,
        case
            when learners.cohort = '{{ baseline }}' or not learners.is_seat_time_known then 0
            else coalesce(
                (baseline_seat_time.mean_seat_time_hours - learners.seat_time_hours)
                    * learners.hourly_cost,
                0
            )
        end as seat_time_saved_value,
        coalesce(competency_days_gained.days_gained, 0)
            * cast({{ var('roi_value_of_competent_day') }} as double) as competency_days_value,
        coalesce(kpi_gains.kpi_gain_value, 0) as kpi_value
    from learners
    cross join baseline_seat_time
    left join competency_days_gained using (learner_id)
    left join kpi_gains using (learner_id)
),

summed as (
    select
        quarter,
        cohort,
        count(*) as learners,
        count(*) filter (where is_seat_time_known) as learners_with_seat_time,
        sum(programme_cost) as programme_cost,
        sum(seat_time_cost) as seat_time_cost,
        sum(seat_time_saved_value) as seat_time_saved_value,
        sum(competency_days_value) as competency_days_value,
        sum(kpi_value) as kpi_value
    from valued
    group by quarter, cohort
),

final as (
    select
        quarter,
        cohort,
        learners,
        programme_cost + seat_time_cost as costs,
        seat_time_saved_value + competency_days_value + kpi_value as benefits,
        benefits - costs as net_benefit,
        (benefits - costs) / nullif(costs, 0) * 100 as roi_pct,
        benefits / nullif(costs, 0) as bcr,
        case
            when benefits > 0
                then costs / (benefits / {{ var('roi_benefit_period_months') }})
        end as payback_months,
        programme_cost,
        seat_time_cost,
        seat_time_saved_value,
        competency_days_value,
        kpi_value,
        learners_with_seat_time,
        learners_with_seat_time / learners as seat_time_coverage,
        learners < {{ var('k_anonymity') }} as is_small_group
    from summed
)

select * from final
