{#
    The xAPI verbs and activity types the models test for, by short name: the one place a
    model finds an IRI. They are the vocabulary of skillstream/xapi/profile.py;
    tests/dbt_project/test_vocabulary.py holds the two equal.
#}
{% macro xapi_verbs() -%}
    {{ return({
        'answered': 'http://adlnet.gov/expapi/verbs/answered',
        'completed': 'http://adlnet.gov/expapi/verbs/completed',
        'launched': 'http://adlnet.gov/expapi/verbs/launched',
        'mastered': 'http://adlnet.gov/expapi/verbs/mastered',
        'passed': 'http://adlnet.gov/expapi/verbs/passed',
        'voided': 'http://adlnet.gov/expapi/verbs/voided',
        'received-feedback': 'https://w3id.org/skillstream/verbs/received-feedback',
        'requested-hint': 'https://w3id.org/skillstream/verbs/requested-hint',
    }) }}
{%- endmacro %}


{% macro xapi_activity_types() -%}
    {{ return({
        'assessment': 'http://adlnet.gov/expapi/activities/assessment',
        'cmi.interaction': 'http://adlnet.gov/expapi/activities/cmi.interaction',
        'course': 'http://adlnet.gov/expapi/activities/course',
        'interaction': 'http://adlnet.gov/expapi/activities/interaction',
        'lesson': 'http://adlnet.gov/expapi/activities/lesson',
        'module': 'http://adlnet.gov/expapi/activities/module',
        'question': 'http://adlnet.gov/expapi/activities/question',
    }) }}
{%- endmacro %}


{#- The IRI of `name` in `vocabulary`; a compile error names an unknown one. -#}
{% macro _iri(vocabulary, kind, name) -%}
    {%- if name not in vocabulary -%}
        {{ exceptions.raise_compiler_error("unknown xAPI " ~ kind ~ " '" ~ name ~ "': add it to macros/xapi_vocabulary.sql") }}
    {%- endif -%}
    '{{ vocabulary[name] }}'
{%- endmacro %}


{#- `verb('voided')`: the IRI as a string literal. -#}
{% macro verb(name) -%}
    {{ _iri(xapi_verbs(), 'verb', name) }}
{%- endmacro %}


{#- `verbs(['completed', 'passed'])`: the IRIs as a parenthesised list, for `in`. -#}
{% macro verbs(names) -%}
    ({% for name in names %}{{ _iri(xapi_verbs(), 'verb', name) }}{{ ", " if not loop.last }}{% endfor %})
{%- endmacro %}


{#- `activity_types(['module', 'lesson'])`: the IRIs as a parenthesised list, for `in`. -#}
{% macro activity_types(names) -%}
    ({% for name in names %}{{ _iri(xapi_activity_types(), 'activity type', name) }}{{ ", " if not loop.last }}{% endfor %})
{%- endmacro %}
