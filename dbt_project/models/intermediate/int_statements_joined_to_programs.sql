{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='statement_id',
        on_schema_change='fail',
        post_hook="{{ forget_erased_learners() }}"
    )
}}

with

all_statements as (
    select * from {{ ref('stg_xapi__statements') }}
),

programs as (
    select * from {{ ref('int_programs_declared') }}
),

{% if is_incremental() %}
new_programs as materialized (
    select program_id from programs
    where program_id not in (select distinct program_id from {{ this }})
),

statements as (
    {{ statements_to_remodel(ref('stg_xapi__statements')) }}
    union
    -- a program declared for the first time: earlier statements may belong to it now
    select all_statements.*
    from all_statements
    inner join new_programs
        on all_statements.object_id = new_programs.program_id
        or list_contains(all_statements.parent_ids, new_programs.program_id)
        or list_contains(all_statements.grouping_ids, new_programs.program_id)
),
{% else %}
statements as (
    select * from all_statements
),
{% endif %}

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
                verb_id in {{ verbs(['completed', 'passed']) }}
                or coalesce(is_completion, false)
            ) as is_program_completion,
        {{ modelled_now() }} as modelled_at
    from joined
)

select * from final
