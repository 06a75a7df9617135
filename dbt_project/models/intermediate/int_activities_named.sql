{#-
    The latest name (by stored_at) each activity's definition carries in the non-voided
    statements: the object and its context activities. Incremental on subject_id: only the
    statements landed since the last run (minus incremental_lookback_hours) are parsed, and
    an activity they name keeps whichever name was stored last, theirs or the one modelled.
    A name seen on a statement voided after it was modelled stays until a full refresh
    (`skillstream forget` builds one): names label activities, they count in no metric.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='subject_id',
        on_schema_change='fail'
    )
}}

with

statements as (
    select statement, stored_at, landed_at
    from {{ landed_statements() }}
    where not is_voided and statement is not null
    {% if is_incremental() %}
        and landed_at > {{ landed_after_last_run() }}
    {% endif %}
),

activities as (
    select
        unnest(
            [json_extract(statement, '$.object')]
            || json_extract(statement, '$.context.contextActivities.*[*]')
        ) as activity,
        stored_at,
        landed_at
    from statements
),

named as (
    select
        json_extract_string(activity, '$.id') as subject_id,
        coalesce(
            json_extract_string(activity, '$.definition.name."en-US"'),
            json_extract_string(activity, '$.definition.name.*')[1]
        ) as name,
        stored_at,
        landed_at
    from activities
    where json_extract(activity, '$.definition.name') is not null
),

{% if is_incremental() %}
candidates as (
    select * from named
    union all
    select subject_id, name, stored_at, landed_at
    from {{ this }}
    where subject_id in (select subject_id from named)
),
{% else %}
candidates as (
    select * from named
),
{% endif %}

final as (
    select
        subject_id,
        arg_max(name, stored_at) as name,
        max(stored_at) as stored_at,
        max(landed_at) as landed_at
    from candidates
    group by subject_id
)

select * from final
