{#-
    Answers to assessment items: statements with a result.success whose object is an item (an
    activity of type question, interaction or cmi.interaction, or with an interactionType).
    An assessment is the item's first contextActivities parent. The interaction details are
    read from the stored statement, once: the table is incremental and parses only the
    statements landed since its last run (minus incremental_lookback_hours). A statement
    voided after it was parsed keeps its row here; int_item_attempts_ordered leaves it out.
-#}
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

source as (
    select * from {{ landed_statements() }}
    where not is_voided and success is not null
    {% if is_incremental() %}
        and landed_at > {{ landed_after_last_run() }}
    {% endif %}
),

items as (
    select
        *,
        json_extract(statement, '$.object.definition') as definition
    from source
    where object_activity_type in {{ activity_types(['question', 'interaction', 'cmi.interaction']) }}
        or json_extract(statement, '$.object.definition.interactionType') is not null
),

final as (
    select
        statement_id,
        learner_id,
        object_id as item_id,
        parent_ids[1] as assessment_id,
        occurred_at,
        success as is_success,
        json_extract_string(statement, '$.result.response') as response,
        json_extract_string(definition, '$.interactionType') as interaction_type,
        from_json(json_extract(definition, '$.correctResponsesPattern'), '["VARCHAR"]')
            as correct_responses,
        from_json(json_extract(definition, '$.choices'), '[{"id": "VARCHAR", "description": "JSON"}]')
            as choices,
        landed_at
    from items
)

select * from final
