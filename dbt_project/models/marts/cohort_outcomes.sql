with

program_statements as (
    select * from {{ ref('int_statements_joined_to_programs') }}
),

learners as (
    select * from {{ ref('int_learners_assigned') }}
),

enrolments as (
    select
        learner_id,
        program_id,
        min(occurred_at) as first_seen_at,
        bool_or(is_program_completion) as has_completed,
        coalesce(sum(duration_seconds), 0) / 3600.0 as seat_time_hours
    from program_statements
    group by learner_id, program_id
),

final as (
    select
        learners.cohort,
        enrolments.program_id,
        {{ quarter_of('enrolments.first_seen_at') }} as quarter,
        count(*) as enrolled,
        count(*) filter (where enrolments.has_completed) as completed,
        count(*) filter (where enrolments.has_completed) / count(*) as completion_rate,
        sum(enrolments.seat_time_hours) as seat_time_hours,
        count(*) < {{ var('k_anonymity') }} as is_small_group
    from enrolments
    inner join learners using (learner_id)
    group by 1, 2, 3
)

select * from final
