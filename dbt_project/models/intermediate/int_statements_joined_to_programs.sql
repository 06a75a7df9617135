with

statements as (
    select * from {{ ref('stg_xapi__statements') }}
    where not is_voided
),

programs as (
    select * from {{ ref('int_programs_declared') }}
),

joined as (
    select
        statements.*,
        programs.program_id
    from statements
    inner join programs
        on statements.object_id = programs.program_id
        or list_contains(statements.parent_ids, programs.program_id)
        or list_contains(statements.grouping_ids, programs.program_id)
),

final as (
    select
        *,
        object_id = program_id
            and (
                verb_id in (
                    'http://adlnet.gov/expapi/verbs/completed',
                    'http://adlnet.gov/expapi/verbs/passed'
                )
                or coalesce(is_completion, false)
            ) as is_program_completion
    from joined
)

select * from final
