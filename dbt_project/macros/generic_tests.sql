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
