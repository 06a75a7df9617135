with

source as (
    select * from {{ landed_statements() }}
),

renamed as (
    select
        statement_id,
        learner_id,
        verb_id,
        object_id,
        object_type,
        object_activity_type,
        declared_course_ids,
        parent_ids,
        grouping_ids,
        skill_ids,
        cohort as cohort_extension,
        org as org_extension,
        team as team_extension,
        role as role_extension,
        score_scaled,
        score_raw,
        success as is_success,
        completion as is_completion,
        duration_seconds,
        voids_statement_id,
        is_voided,
        occurred_at,
        stored_at,
        landed_at,
        source as source_name
    from source
)

select * from renamed
