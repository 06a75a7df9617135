{# Rows whose value lies outside [min_value, max_value]; nulls pass. #}
{% test between(model, column_name, min_value, max_value) %}
select * from {{ model }}
where {{ column_name }} is not null
  and ({{ column_name }} < {{ min_value }} or {{ column_name }} > {{ max_value }})
{% endtest %}

{# Rows whose value does not match a regular expression; nulls pass. #}
{% test matches_pattern(model, column_name, pattern) %}
select * from {{ model }}
where {{ column_name }} is not null
  and not regexp_full_match({{ column_name }}, '{{ pattern }}')
{% endtest %}


{#
    The landed_at after which this build's data tests of the landed statements look: the
    newest landed_at the published build read (quality.runs.landed_through, written by
    `skillstream build`). What a published build checked is not checked again, so a
    scheduled build's tests cost what landed, not what the warehouse holds. Every row
    (-infinity): a full refresh, the lake mode, no published build yet, or dbt run on its
    own. Read when the test runs, not when dbt parses: a moving var would make dbt parse the
    whole project again on every build.
#}
{% macro checked_after() -%}
    {%- set everything = "timestamp '-infinity'" -%}
    {%- if not execute or flags.FULL_REFRESH or lake_mode() -%}
        {{ return(everything) }}
    {%- endif -%}
    {%- set runs = adapter.get_relation(database=target.database, schema='quality', identifier='runs') -%}
    {%- if runs is none -%}
        {{ return(everything) }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(runs) | map(attribute='name') | list -%}
    {%- if 'landed_through' not in columns -%}
        {{ return(everything) }}
    {%- endif -%}
    {{ return(
        "coalesce((select max(landed_through) from " ~ runs ~ " where is_published), "
        ~ everything ~ ")"
    ) }}
{%- endmacro %}


{#
    `unique` over the rows that share `within` with a row landed (landed_at) after
    checked_after(): a value of the new rows is unique across the whole model, and only the
    groups a new row touches are read. `within` must be part of the value (a duplicate of it
    lies in the same group).
#}
{% test unique_among_new(model, column_name, within) %}
with

new_groups as (
    select distinct {{ within }} as new_group
    from {{ model }}
    where landed_at > {{ checked_after() }}
),

candidates as (
    select {{ column_name }} as unique_field
    from {{ model }}
    where {{ within }} in (select new_group from new_groups)
)

select unique_field, count(*) as n_records
from candidates
where unique_field is not null
group by unique_field
having count(*) > 1
{% endtest %}


{# `not_null` over the rows landed (landed_at) after checked_after(). #}
{% test not_null_among_new(model, column_name) %}
select {{ column_name }}
from {{ model }}
where landed_at > {{ checked_after() }}
    and {{ column_name }} is null
{% endtest %}
