{# The UTC calendar quarter of a timestamp, as docs/design.md §4 writes it: 2026Q3. #}
{% macro quarter_of(ts) -%}
    (cast(year({{ ts }}) as varchar) || 'Q' || cast(quarter({{ ts }}) as varchar))
{%- endmacro %}
