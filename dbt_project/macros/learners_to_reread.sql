{#
    The learners an incremental statement-level model must model again: those with a
    statement landed since the model's last run (minus a lookback window, for late
    transactions), and those whose statement was voided by a voiding statement that landed
    since then, whichever learner sent it. Their rows are replaced whole (delete+insert on
    learner_id), so a late voiding statement takes its target out of every metric.
#}
{% macro learners_to_reread(statements) -%}
    with watermark as (
        select
            coalesce(max(landed_at), timestamp '1970-01-01')
                - to_hours({{ var('incremental_lookback_hours') }}) as landed_after
        from {{ this }}
    ),

    recent as (
        select learner_id, voids_statement_id
        from {{ statements }}
        where landed_at > (select landed_after from watermark)
    )

    select learner_id from recent
    union
    select voided.learner_id
    from recent
    inner join {{ statements }} as voided
        on voided.statement_id = recent.voids_statement_id
{%- endmacro %}


{#
    A learner erased from raw (`skillstream forget`) has no statement left to trigger a
    re-read, so an incremental model drops the rows of learners raw no longer holds.
#}
{% macro forget_erased_learners() -%}
    delete from {{ this }}
    where learner_id not in (
        select learner_id from {{ ref('stg_xapi__statements') }}
    )
{%- endmacro %}
