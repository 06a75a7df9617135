{#-
    At-risk learners per week, program and group (docs/models.md, at risk). Each week is
    judged at its end (the build's time for the current week): a learner is at risk in a
    program when, by then, they have a statement in it other than `launched`, have not
    completed it, and their latest statement in it is var at_risk_inactive_days or more old.
    enrolled counts every learner with a statement in the program by then.
    var at_risk_as_of fixes the build's time (tests); by default it is now (UTC).

    asof_loop_join_threshold 0: DuckDB plans an ASOF join whose left side it expects to be
    small (under 64 rows) as a nested loop over the right side, then keeps each row's latest
    match. It cannot estimate `candidates` (enrolments joined on an inequality to generated
    weeks) and guesses a few rows; on 462k statements the loop then made 9.7M row pairs and
    took 60 to 300 s of a build, where the ASOF join's sort-merge takes about a second. The
    setting is the model's cursor's own and is reset after it.
-#}
{{ config(
    pre_hook="set asof_loop_join_threshold = 0",
    post_hook="reset asof_loop_join_threshold",
) }}

with

{{ at_risk_inputs() }},

weeks as (
    select
        cast(week_start as date) as week_start,
        least(week_start + interval 7 day, built.built_at) as checked_at
    from built,
        (select min(first_seen_at) as first_seen_at from enrolments) as first,
        unnest(generate_series(
            date_trunc('week', first.first_seen_at),
            date_trunc('week', built.built_at),
            interval 7 day
        )) as series (week_start)
    where first.first_seen_at is not null
),

candidates as (
    select enrolments.*, weeks.week_start, weeks.checked_at
    from enrolments
    inner join weeks on enrolments.first_seen_at < weeks.checked_at
),

last_seen as (
    {{ last_seen_before('candidates') }}
),

final as (
    select
        week_start,
        program_id,
        cohort,
        org,
        team,
        role,
        count(*) as enrolled,
        count(*) filter (
            where {{ is_at_risk('checked_at') }}
        ) as at_risk,
        count(*) < {{ var('k_anonymity') }} as is_small_group
    from last_seen
    group by all
)

select * from final
