{#-
    Each learner's days of activity in a program (non-voided statements): the day, the times
    of that day's statements in order, and the latest. The at-risk marts find a learner's
    latest statement before a moment from these rather than from every statement.
    Incremental per learner: the learners whose program statements were modelled again since
    the last run are summarised again whole (delete+insert on learner_id).
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

program_statements as (
    select learner_id, program_id, occurred_at
    from {{ ref('int_statements_joined_to_programs') }}
    where not is_voided
    {% if is_incremental() %}
        and learner_id in (select learner_id from learners_to_summarise)
    {% endif %}
),

final as (
    select
        learner_id,
        program_id,
        cast(occurred_at as date) as activity_day,
        list(occurred_at order by occurred_at) as seen_at_times,
        max(occurred_at) as last_seen_at,
        {{ modelled_now() }} as modelled_at
    from program_statements
    group by learner_id, program_id, cast(occurred_at as date)
)

select * from final
