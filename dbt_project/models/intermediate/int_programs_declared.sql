with

statements as (
    select * from {{ ref('stg_xapi__statements') }}
    where not is_voided
),

declared as (
    select distinct unnest(declared_course_ids) as program_id
    from statements
),

final as (
    select program_id from declared
)

select * from final
