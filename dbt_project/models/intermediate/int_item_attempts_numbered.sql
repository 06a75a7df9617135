{#- Each learner's answers to an item in time order (attempt 1 is the first), with the
    item's assessment: the first parent its answers name (ties by id, so one per item). -#}
with

answers as (
    select * from {{ ref('stg_xapi__item_answers') }}
),

item_assessments as (
    select item_id, min(assessment_id) as assessment_id
    from answers
    group by item_id
),

final as (
    select
        answers.statement_id,
        answers.learner_id,
        answers.item_id,
        item_assessments.assessment_id,
        answers.occurred_at,
        answers.is_success,
        answers.response,
        answers.interaction_type,
        answers.correct_responses,
        answers.choices,
        row_number() over (
            partition by answers.learner_id, answers.item_id
            order by answers.occurred_at, answers.statement_id
        ) as attempt_number
    from answers
    inner join item_assessments using (item_id)
)

select * from final
