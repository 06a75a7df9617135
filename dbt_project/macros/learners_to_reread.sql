{#
    The landed_at after which an incremental model reads statements again: the newest
    landed_at it holds, minus incremental_lookback_hours (against a clock step); 1970 when it
    holds nothing.
#}
{% macro landed_after_last_run() -%}
    (
        select
            coalesce(max(landed_at), timestamp '1970-01-01')
                - to_hours({{ var('incremental_lookback_hours') }})
        from {{ this }}
    )
{%- endmacro %}


{#
    The learners an incremental statement-level model must model again: those with a
    statement landed since the model's last run (minus a lookback window, for late
    transactions), and those whose statement was voided by a voiding statement that landed
    since then, whichever learner sent it. Their rows are replaced whole (delete+insert on
    learner_id), so a late voiding statement takes its target out of every metric.
#}
{% macro learners_to_reread(statements) -%}
    with watermark as (
        select {{ landed_after_last_run() }} as landed_after
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
    The statements an incremental statement-level model must model again: those landed since
    the model's last run (minus a lookback window, for late transactions) and those a voiding
    statement landed since then voids, whoever sent it (their rows are replaced with
    is_voided set: delete+insert on statement_id). One row per statement, every column of
    `statements`.
#}
{% macro statements_to_remodel(statements) -%}
    with watermark as (
        select {{ landed_after_last_run() }} as landed_after
    ),

    recent as materialized (
        select *
        from {{ statements }}
        where landed_at > (select landed_after from watermark)
    )

    select * from recent
    union all
    select *
    from {{ statements }}
    where statement_id in (
        select voids_statement_id from recent where voids_statement_id is not null
    )
        and statement_id not in (select statement_id from recent)
{%- endmacro %}


{#
    The learners a per-learner incremental model built on incremental models must model
    again: those whose rows any of `upstreams` (incremental models stamped with `modelled_at`)
    replaced since this model's last run. Every run stamps the rows it writes with the run's
    time, and a model runs after its upstreams, so an upstream row written since this model
    last ran carries a later stamp than any row of this model.
#}
{% macro learners_remodelled_upstream(upstreams) -%}
    {%- for upstream in upstreams %}
    select learner_id
    from {{ upstream }}
    where modelled_at > (
        select coalesce(max(modelled_at), timestamp '1970-01-01') from {{ this }}
    )
    {%- if not loop.last %}
    union
    {%- endif %}
    {%- endfor %}
{%- endmacro %}


{# The stamp of the rows a run writes (learners_remodelled_upstream). #}
{% macro modelled_now() -%}
    cast(timezone('UTC', now()) as timestamp)
{%- endmacro %}


{#
    `skillstream forget` deletes an erased learner's rows from every table, leaves a
    tombstone (raw.forgotten_learners) and builds a full refresh; after each run an
    incremental model also drops the rows of every learner with a tombstone, so no run
    keeps what an erasure took out.
#}
{% macro forget_erased_learners() -%}
    delete from {{ this }}
    where learner_id in (select learner_id from {{ source('raw', 'forgotten_learners') }})
{%- endmacro %}
