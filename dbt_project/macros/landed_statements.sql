{#
    The landed statements, one row per statement id, as raw.statements holds them: the DuckDB
    landing's table, or in the lake mode (setting `lake`, docs/scale-out.md) the staging
    model that resolves the lake's duplicates, conflicts and voiding. The one place the
    staging models choose.
#}
{% macro lake_mode() -%}
    {{ return(env_var('SKILLSTREAM_LAKE', '') != '') }}
{%- endmacro %}


{% macro landed_statements() -%}
    {%- if lake_mode() -%}
        {{ ref('stg_lake__statements') }}
    {%- else -%}
        {{ source('raw', 'statements') }}
    {%- endif -%}
{%- endmacro %}
