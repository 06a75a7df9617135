{#- Each learner's answers to an item in time order (attempt 1 is the first;
    int_item_attempts_ordered), with the item's assessment: the first parent its answers name
    (ties by id, so one per item, whichever learner's answers named it). A view: the
    assessment of an item is read across every learner's answers when a mart reads it. -#}
{{ config(materialized='view') }}

with

attempts as (
    select * from {{ ref('int_item_attempts_ordered') }}
),

item_assessments as (
    select item_id, min(answer_assessment_id) as assessment_id
    from attempts
    group by item_id
),

final as (
    select
        attempts.statement_id,
        attempts.learner_id,
        attempts.item_id,
        item_assessments.assessment_id,
        attempts.occurred_at,
        attempts.is_success,
        attempts.response,
        attempts.interaction_type,
        attempts.correct_responses,
        attempts.choices,
        attempts.attempt_number
    from attempts
    inner join item_assessments using (item_id)
)

select * from final
