with

source as (
    select * from {{ source('raw', 'kpi_observations') }}
),

renamed as (
    select
        learner_id,
        team,
        kpi as kpi_name,
        observed_on,
        value as kpi_value,
        imported_at
    from source
)

select * from renamed
