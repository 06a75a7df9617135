{#- Sessions by the ISO week (Monday, UTC) they started in, per group, with the tutor's counts. -#}
{%- set period -%}
    cast(date_trunc('week', sessions.started_at) as date) as week_start
{%- endset -%}
{%- set tutor_counts -%}
    cast(sum(sessions.practice_attempts) as bigint) as practice_attempts,
    cast(sum(sessions.hints_requested) as bigint) as hints_requested,
    cast(sum(sessions.feedback_given) as bigint) as feedback_given,
{%- endset -%}
{{ sessions_counted_by(period, tutor_counts) }}
