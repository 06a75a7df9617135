{#-
    Classical item analysis per assessment item (docs/models.md, item analysis):
      difficulty                 = correct answers / answers (all attempts)
      first_attempt_correct_rate = learners right at their first attempt / learners
      discrimination             = point-biserial correlation of the item's first-attempt
                                   correctness with the learner's share correct (first attempts)
                                   on the rest of the assessment; null when either is constant
      mean_attempts_to_success   = over learners who answered right, attempts up to the first
    flag: too_easy (difficulty above var item_too_easy_above), too_hard (below
    var item_too_hard_below), else negative_discrimination (below 0); the first that applies.
-#}
with

attempts as (
    select * from {{ ref('int_item_attempts_numbered') }}
),

first_attempts as (
    select learner_id, item_id, assessment_id, cast(is_success as integer) as correct
    from attempts
    where attempt_number = 1
),

learner_totals as (
    select learner_id, assessment_id, count(*) as items, sum(correct) as correct_items
    from first_attempts
    group by learner_id, assessment_id
),

rest_scores as (
    select
        first_attempts.item_id,
        first_attempts.correct,
        (learner_totals.correct_items - first_attempts.correct) / (learner_totals.items - 1)
            as rest_score
    from first_attempts
    inner join learner_totals using (learner_id, assessment_id)
    where learner_totals.items > 1
),

discrimination as (
    select
        item_id,
        case
            when stddev_pop(correct) > 0 and stddev_pop(rest_score) > 0
                -- to 12 places: a zero correlation is 0, not a rounding error's sign
                then round(corr(correct, rest_score), 12)
        end as discrimination
    from rest_scores
    group by item_id
),

learner_items as (
    select
        item_id,
        learner_id,
        bool_or(is_success) filter (where attempt_number = 1) as first_attempt_correct,
        min(attempt_number) filter (where is_success) as attempts_to_success
    from attempts
    group by item_id, learner_id
),

per_learner as (
    select
        item_id,
        count(*) as learners,
        count(*) filter (where first_attempt_correct) / count(*) as first_attempt_correct_rate,
        avg(attempts_to_success) as mean_attempts_to_success
    from learner_items
    group by item_id
),

per_answer as (
    select
        item_id,
        any_value(assessment_id) as assessment_id,
        count(*) as attempts,
        count(*) filter (where is_success) / count(*) as difficulty
    from attempts
    group by item_id
),

final as (
    select
        per_answer.item_id,
        per_answer.assessment_id,
        per_answer.attempts,
        per_learner.learners,
        per_answer.difficulty,
        per_learner.first_attempt_correct_rate,
        discrimination.discrimination,
        per_learner.mean_attempts_to_success,
        case
            when per_answer.difficulty > {{ var('item_too_easy_above') }} then 'too_easy'
            when per_answer.difficulty < {{ var('item_too_hard_below') }} then 'too_hard'
            when discrimination.discrimination < 0 then 'negative_discrimination'
        end as flag,
        per_learner.learners < {{ var('k_anonymity') }} as is_small_group
    from per_answer
    inner join per_learner using (item_id)
    left join discrimination using (item_id)
)

select * from final
