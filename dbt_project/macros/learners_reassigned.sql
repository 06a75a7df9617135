{#
    The learners of an incremental learner-level model whose assignment in
    int_learners_assigned (a roster import, a newer extension) differs from what the model
    holds in `columns`: their rows are modelled again.
#}
{% macro learners_reassigned(columns) -%}
    select learners.learner_id
    from {{ ref('int_learners_assigned') }} as learners
    inner join {{ this }} as modelled using (learner_id)
    where ({% for c in columns %}learners.{{ c }}{{ ', ' if not loop.last }}{% endfor %})
        is distinct from
        ({% for c in columns %}modelled.{{ c }}{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}
