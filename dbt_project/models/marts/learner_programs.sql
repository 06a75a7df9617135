with

learner_programs as (
    select * from {{ ref('int_learner_programs_summarised') }}
),

final as (
    select
        learner_id,
        program_id,
        cohort,
        org,
        team,
        role,
        is_pilot,
        quarter,
        first_seen_at,
        completed,
        completed_at,
        seat_time_hours
    from learner_programs
)

select * from final
