{#-
    Each learner's answers to an item in time order (attempt 1 is the first), the answers
    voided since they were parsed left out. Incremental per learner: the learners with a
    statement landed since the last run, or with a statement voided since, are numbered again
    whole (delete+insert on learner_id).
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
learners_to_reread as materialized (
    {{ learners_to_reread(ref('stg_xapi__statements')) }}
),
{% endif %}

answers as (
    select answers.*
    from {{ ref('stg_xapi__item_answers') }} as answers
    inner join {{ ref('stg_xapi__statements') }} as statements using (statement_id)
    where not statements.is_voided
    {% if is_incremental() %}
        and answers.learner_id in (select learner_id from learners_to_reread)
        and statements.learner_id in (select learner_id from learners_to_reread)
    {% endif %}
),

final as (
    select
        statement_id,
        learner_id,
        item_id,
        assessment_id as answer_assessment_id,
        occurred_at,
        is_success,
        response,
        interaction_type,
        correct_responses,
        choices,
        row_number() over (
            partition by learner_id, item_id
            order by occurred_at, statement_id
        ) as attempt_number,
        landed_at
    from answers
)

select * from final
