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

statements as (
    {% if is_incremental() %}
    {{ statements_to_remodel(ref('stg_xapi__statements')) }}
    {% else %}
    select * from {{ ref('stg_xapi__statements') }}
    {% endif %}
),

tagged as (
    select
        statement_id,
        learner_id,
        unnest(list_distinct(skill_ids)) as skill_id,
        verb_id,
        score_scaled,
        occurred_at,
        landed_at,
        is_voided
    from statements
),

final as (
    select *, {{ modelled_now() }} as modelled_at from tagged
)

select * from final
