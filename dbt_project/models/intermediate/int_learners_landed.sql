{#- Every learner with a statement landed (voided and voiding ones included): the
    incremental models drop the rows of learners no longer here (forget_erased_learners). -#}
with

final as (
    select distinct learner_id from {{ landed_statements() }}
)

select * from final
