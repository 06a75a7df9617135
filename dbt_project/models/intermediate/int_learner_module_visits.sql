{#-
    Each learner's first visit of each module or lesson of a program (an activity of type
    module or lesson in the program, non-voided statements): the steps of program_funnel.
    Incremental per learner, like int_learner_program_days.
-#}
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

{% if is_incremental() %}
learners_to_summarise as materialized (
    {{ learners_remodelled_upstream([ref('int_statements_joined_to_programs')]) }}
),
{% endif %}

module_statements as (
    select learner_id, program_id, object_id, occurred_at
    from {{ ref('int_statements_joined_to_programs') }}
    where not is_voided
        and object_id != program_id
        and object_activity_type in {{ activity_types(['module', 'lesson']) }}
    {% if is_incremental() %}
        and learner_id in (select learner_id from learners_to_summarise)
    {% endif %}
),

final as (
    select
        learner_id,
        program_id,
        object_id as step_id,
        min(occurred_at) as first_visit_at,
        {{ modelled_now() }} as modelled_at
    from module_statements
    group by learner_id, program_id, object_id
)

select * from final
