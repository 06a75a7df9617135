{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='learner_id',
        on_schema_change='fail',
        post_hook="{{ forget_erased_learners() }}"
    )
}}

with

statements as (
    select * from {{ ref('stg_xapi__statements') }}
),

programs as (
    select * from {{ ref('int_programs_declared') }}
),

{% if is_incremental() %}
learners_to_reread as (
    {{ learners_to_reread(ref('stg_xapi__statements')) }}
    union
    -- a program declared for the first time: earlier statements may belong to it now
    select statements.learner_id
    from statements
    inner join programs
        on statements.object_id = programs.program_id
        or list_contains(statements.parent_ids, programs.program_id)
        or list_contains(statements.grouping_ids, programs.program_id)
    where programs.program_id not in (select distinct program_id from {{ this }})
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
    {% if is_incremental() %}
    where statements.learner_id in (select learner_id from learners_to_reread)
    {% endif %}
),

final as (
    select
        *,
        object_id = program_id
            and (
                verb_id in {{ verbs(['completed', 'passed']) }}
                or coalesce(is_completion, false)
            ) as is_program_completion
    from joined
)

select * from final
