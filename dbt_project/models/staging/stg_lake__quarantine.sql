{#-
    The lake mode (docs/scale-out.md): what raw.quarantine holds in the DuckDB warehouse: the
    events the transform rejected, and the statements whose id landed before with different
    content, with the reason the DuckDB landing gives them (docs/design.md §2.5).
-#}
{{ config(materialized='table', enabled=lake_mode()) }}

select topic, kafka_partition, kafka_offset, statement_id, source, reasons, payload, quarantined_at
from {{ source('lake', 'quarantine') }}

union all

select
    '{{ env_var("SKILLSTREAM_STATEMENTS_TOPIC", "xapi.statements") }}' as topic,
    kafka_partition,
    kafka_offset,
    statement_id,
    source,
    ['id: ' || statement_id || ' landed before with different content (conflict)'] as reasons,
    statement::varchar as payload,
    landed_at as quarantined_at
from {{ ref('stg_lake__landed_statements') }}
where outcome = 'conflict'
