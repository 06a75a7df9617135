{#-
    The responses to each item at learners' first attempts, with every choice the item
    defines (a distractor nobody picks is shown with 0 learners), and whether the response
    matches one of the item's correctResponsesPattern.
-#}
with

first_attempts as (
    select * from {{ ref('int_item_attempts_numbered') }}
    where attempt_number = 1
),

items as (
    select
        item_id,
        count(*) as item_learners,
        -- the definition of the latest answer, as the item reads now
        arg_max(correct_responses, (occurred_at, statement_id)) as correct_responses,
        arg_max(choices, (occurred_at, statement_id)) as choices
    from first_attempts
    group by item_id
),

defined_choices as (
    select
        item_id,
        choice.id as response,
        json_extract_string(choice.description, '$.*')[1] as description
    from (select item_id, unnest(choices) as choice from items)
),

given as (
    select item_id, response, count(distinct learner_id) as learners
    from first_attempts
    where response is not null
    group by item_id, response
),

final as (
    select
        item_id,
        response,
        defined_choices.description,
        coalesce(given.learners, 0) as learners,
        coalesce(list_contains(items.correct_responses, response), false) as is_correct,
        items.item_learners < {{ var('k_anonymity') }} as is_small_group
    from given
    full outer join defined_choices using (item_id, response)
    inner join items using (item_id)
)

select * from final
