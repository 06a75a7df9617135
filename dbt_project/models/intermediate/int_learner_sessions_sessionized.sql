{#- A session is a run of a learner's statements with gaps of at most the session gap (30 min).
    Incremental per learner: the learners with a statement landed since the last run, or with
    a statement voided since, are sessionized again whole (delete+insert on learner_id). -#}
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
    where not is_voided
    {% if is_incremental() %}
        and learner_id in ({{ learners_to_reread(ref('stg_xapi__statements')) }})
    {% endif %}
        -- voiding is an administrative act, not learning activity
        and verb_id is distinct from {{ verb('voided') }}
),

gaps as (
    select
        *,
        occurred_at - lag(occurred_at) over (
            partition by learner_id order by occurred_at, statement_id
        ) > to_minutes({{ var('session_gap_minutes') }}) as starts_after_gap,
        lag(occurred_at) over (partition by learner_id order by occurred_at, statement_id) is null
            as is_first
    from statements
),

numbered as (
    select
        *,
        sum(case when is_first or starts_after_gap then 1 else 0 end) over (
            partition by learner_id order by occurred_at, statement_id
            rows between unbounded preceding and current row
        ) as session_number
    from gaps
),

final as (
    select
        learner_id,
        session_number,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        count(*) as statements,
        -- the span of the session, or the durations it reports when those are longer
        greatest(
            epoch(max(occurred_at)) - epoch(min(occurred_at)),
            coalesce(sum(duration_seconds), 0)
        ) / 60.0 as active_minutes,
        count(*) filter (
            where verb_id = {{ verb('answered') }}
        ) as practice_attempts,
        count(*) filter (
            where verb_id = {{ verb('requested-hint') }}
        ) as hints_requested,
        count(*) filter (
            where verb_id = {{ verb('received-feedback') }}
        ) as feedback_given,
        max(landed_at) as landed_at
    from numbered
    group by learner_id, session_number
)

select * from final
