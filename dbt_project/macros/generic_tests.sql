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
    The landed_at after which this build's data tests of the landed statements look, as a
    timestamp literal (so DuckDB skips the row groups before it): the newest landed_at the
    published build read (quality.runs.landed_through, written by `skillstream build`). What a
    published build checked is not checked again, so a scheduled build's tests cost what
    landed, not what the warehouse holds. Every row (-infinity): a full refresh, the lake
    mode, no published build yet, or dbt run on its own. Read when the test runs, not when
    dbt parses: a var moving with every build would make dbt parse the whole project again.
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
    {%- set newest = run_query(
        "select max(landed_through)::varchar from " ~ runs ~ " where is_published"
    ).columns[0].values()[0] -%}
    {{ return("timestamp '" ~ newest ~ "'" if newest else everything) }}
{%- endmacro %}


{#
    `unique` over the rows landed (landed_at) after checked_after(). A statement-level
    model replaces a statement's rows whole (delete+insert on statement_id), so a duplicate
    lies among the rows written with it; a statement id landed again beside an older copy is
    the gate's check (raw_statements: statement_id_new).
#}
{% test unique_among_new(model, column_name) %}
select {{ column_name }} as unique_field, count(*) as n_records
from {{ model }}
where landed_at > {{ checked_after() }}
    and {{ column_name }} is not null
group by {{ column_name }}
having count(*) > 1
{% endtest %}


{# `not_null` over the rows landed (landed_at) after checked_after(). #}
{% test not_null_among_new(model, column_name) %}
select {{ column_name }}
from {{ model }}
where landed_at > {{ checked_after() }}
    and {{ column_name }} is null
{% endtest %}
