with

source as (
    select * from {{ source('raw', 'roster') }}
),

renamed as (
    select
        learner_id,
        cohort,
        org,
        team,
        role,
        is_pilot,
        hourly_cost,
        imported_at
    from source
)

select * from renamed
