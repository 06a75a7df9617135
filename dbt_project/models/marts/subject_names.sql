{#-
    The names people know programmes and skills by. A skills catalogue (setting
    skills_catalogue: a CSV with columns iri,name[,program]) wins over the name an activity's
    definition carries in the statements (int_activities_named: the latest name stored). An
    IRI named by neither has no row: readers show its readable tail.
-#}
{%- set catalogue = var('skills_catalogue') -%}
with

defined as (
    select subject_id, name from {{ ref('int_activities_named') }}
),

catalogue_rows as (
    select null::varchar as iri, null::varchar as name, null::varchar as program
    where false
    {%- if catalogue %}
    union all by name
    select * from read_csv('{{ catalogue }}', header = true, all_varchar = true)
    {%- endif %}
),

catalogue as (
    -- an IRI listed twice: its last row
    select trim(iri) as iri, last(name) as name, last(program) as program
    from catalogue_rows
    where nullif(trim(iri), '') is not null
    group by 1
),

final as (
    select
        coalesce(catalogue.iri, defined.subject_id) as subject_id,
        coalesce(nullif(trim(catalogue.name), ''), defined.name) as name,
        nullif(trim(catalogue.program), '') as program
    from catalogue
    full outer join defined on catalogue.iri = defined.subject_id
    where coalesce(nullif(trim(catalogue.name), ''), defined.name) is not null
)

select * from final
