with

learner_programs as (
    select * from {{ ref('int_learner_programs_summarised') }}
),

final as (
    select
        cohort,
        program_id,
        quarter,
        count(*) as enrolled,
        count(*) filter (where completed) as completed,
        count(*) filter (where completed) / count(*) as completion_rate,
        sum(seat_time_hours) as seat_time_hours,
        count(*) < {{ var('k_anonymity') }} as is_small_group
    from learner_programs
    group by cohort, program_id, quarter
)

select * from final
