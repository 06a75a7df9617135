{#-
    The lake mode (docs/scale-out.md): the lake's statements as the DuckDB landing leaves
    raw.statements: one row per statement id, the first landed (stg_lake__landed_statements),
    voided when a kept voiding statement targets it, whichever landed first
    (docs/design.md §2.4).
-#}
{{ config(materialized='table', enabled=lake_mode()) }}

with

kept as (
    select * exclude (landed_order, outcome)
    from {{ ref('stg_lake__landed_statements') }}
    where outcome = 'kept'
),

voided as (
    select distinct voids_statement_id as statement_id
    from kept
    where voids_statement_id is not null
)

select
    kept.*,
    kept.statement_id in (select statement_id from voided) as is_voided
from kept
