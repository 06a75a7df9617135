{#-
    Per program and cohort, the learners who reached each step: launched (any statement in the
    program), each module (an activity of type module or lesson in the program), completed.
    Modules are ordered by the median, across learners, of the time from the learner's first
    statement in the program to their first visit of the module (ties by id), the same order
    for every cohort.
-#}
with

enrolments as (
    select learner_id, program_id, cohort, first_seen_at as launched_at, completed
    from {{ ref('int_learner_programs_summarised') }}
),

module_visits as (
    select learner_id, program_id, step_id, first_visit_at
    from {{ ref('int_learner_module_visits') }}
),

module_order as (
    select
        module_visits.program_id,
        module_visits.step_id,
        row_number() over (
            partition by module_visits.program_id
            order by
                median(epoch(module_visits.first_visit_at) - epoch(enrolments.launched_at)),
                module_visits.step_id
        ) as step_order
    from module_visits
    inner join enrolments using (learner_id, program_id)
    group by module_visits.program_id, module_visits.step_id
),

steps as (
    select program_id, 0 as step_order, program_id as step_id, 'launched' as step_kind
    from enrolments
    group by program_id
    union all
    select program_id, step_order, step_id, 'module' as step_kind from module_order
    union all
    select program_id, count(step_order) + 1, program_id, 'completed'
    from (select distinct program_id from enrolments)
    left join module_order using (program_id)
    group by program_id
),

reached as (
    select learner_id, program_id, program_id as step_id, 'launched' as step_kind
    from enrolments
    union all
    select learner_id, program_id, step_id, 'module' from module_visits
    union all
    select learner_id, program_id, program_id, 'completed' from enrolments where completed
),

cohort_programs as (
    select program_id, cohort, count(*) as launched
    from enrolments
    group by program_id, cohort
),

counted as (
    select reached.program_id, enrolments.cohort, reached.step_id, reached.step_kind,
        count(distinct reached.learner_id) as learners_reached
    from reached
    inner join enrolments using (learner_id, program_id)
    group by all
),

final as (
    select
        cohort_programs.program_id,
        cohort_programs.cohort,
        steps.step_order,
        steps.step_id,
        steps.step_kind,
        coalesce(counted.learners_reached, 0) as learners_reached,
        cohort_programs.launched < {{ var('k_anonymity') }} as is_small_group
    from cohort_programs
    inner join steps using (program_id)
    left join counted
        on counted.program_id = cohort_programs.program_id
        and counted.cohort = cohort_programs.cohort
        and counted.step_id = steps.step_id
        and counted.step_kind = steps.step_kind
)

select * from final
