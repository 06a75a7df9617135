with

program_statements as (
    select * from {{ ref('int_statements_joined_to_programs') }}
    where not is_voided
),

learners as (
    select * from {{ ref('int_learners_assigned') }}
),

enrolments as (
    select
        learner_id,
        program_id,
        min(occurred_at) as first_seen_at,
        min(occurred_at) filter (where is_program_completion) as completed_at,
        coalesce(sum(duration_seconds), 0) / 3600.0 as seat_time_hours,
        -- without a single result.duration the seat time is unknown, not zero
        count(duration_seconds) > 0 as is_seat_time_known
    from program_statements
    group by learner_id, program_id
),

final as (
    select
        enrolments.learner_id,
        enrolments.program_id,
        learners.cohort,
        learners.org,
        learners.team,
        learners.role,
        learners.is_pilot,
        learners.hourly_cost,
        {{ quarter_of('enrolments.first_seen_at') }} as quarter,
        enrolments.first_seen_at,
        enrolments.completed_at is not null as completed,
        enrolments.completed_at,
        enrolments.seat_time_hours,
        enrolments.is_seat_time_known
    from enrolments
    inner join learners using (learner_id)
)

select * from final
