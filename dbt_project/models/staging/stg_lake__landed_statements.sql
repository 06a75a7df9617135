{#-
    The lake mode (docs/scale-out.md): every statement landed in the lake, in the order they
    landed, sorted as the DuckDB landing sorts each batch against what landed before
    (docs/design.md §2.3): per statement id the first landed (by commit, then Kafka partition
    and offset) is kept; a later copy with the same content is a duplicate, one with other
    content a conflict. The statements of forgotten learners (raw.forgotten_learners) are
    left out.
-#}
{{ config(materialized='table', enabled=lake_mode()) }}

with

landed as (
    select
        *,
        row_number() over (
            partition by statement_id order by landed_at, kafka_partition, kafka_offset
        ) as landed_order
    from {{ source('lake', 'statements') }}
    where learner_id not in (select learner_id from raw.forgotten_learners)
),

first_landed as (
    select statement_id, content_hash as first_content_hash
    from landed
    where landed_order = 1
)

select
    landed.* exclude (statement),
    landed.statement::json as statement,
    case
        when landed_order = 1 then 'kept'
        when content_hash = first_content_hash then 'duplicate'
        else 'conflict'
    end as outcome
from landed
inner join first_landed using (statement_id)
