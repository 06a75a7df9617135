from collections import Counter

from skillstream.ingestion.simulate import simulate
from skillstream.xapi.validate import validate_statement


def test_the_same_seed_gives_the_same_organisation() -> None:
    people_a, statements_a = simulate(learners=30, days=60, seed=3)
    people_b, statements_b = simulate(learners=30, days=60, seed=3)
    assert people_a == people_b
    assert list(statements_a) == list(statements_b)
    _, other = simulate(learners=30, days=60, seed=4)
    assert [s["id"] for s in other] != [s["id"] for s in simulate(learners=30, days=60, seed=3)[1]]


def test_statements_are_valid_and_both_cohorts_take_part() -> None:
    people, statements = simulate(learners=60, days=90, seed=1)
    listed = list(statements)
    assert all(validate_statement(s) == [] for s in listed)
    assert len({s["id"] for s in listed}) == len(listed)
    assert Counter(p.cohort for p in people) == {"pilot": 30, "control": 30}


def test_the_pilot_completes_more_than_control() -> None:
    people, statements = simulate(learners=400, days=120, seed=11)
    cohort = {f"mailto:{p.email}": p.cohort for p in people}
    completed = Counter(
        cohort[s["actor"]["mbox"]] for s in statements if s["verb"]["id"].endswith("/completed")
    )
    assert completed["pilot"] > 2 * completed["control"]
