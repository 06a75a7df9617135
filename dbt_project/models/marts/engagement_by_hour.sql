{#- Sessions by the ISO weekday (1 = Monday) and hour (UTC) they started in, per group. -#}
{%- set period -%}
    cast(isodow(sessions.started_at) as integer) as weekday,
    cast(hour(sessions.started_at) as integer) as hour
{%- endset -%}
{{ sessions_counted_by(period) }}
