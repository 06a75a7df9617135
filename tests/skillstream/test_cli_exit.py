"""`skillstream` (cli.entry) ends the process at once only after a command that committed and
closed everything it wrote, and only when it succeeded."""

from __future__ import annotations

import pytest

from skillstream import cli


class Exited(Exception):
    """os._exit, made to return to the test."""


@pytest.fixture
def exits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    codes: list[int] = []

    def fake_exit(code: int) -> None:
        codes.append(code)
        raise Exited

    monkeypatch.setattr(cli.os, "_exit", fake_exit)
    monkeypatch.setattr(cli, "_done_and_closed", False)
    return codes


def finishing(code: int | None, done: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    def command() -> None:
        monkeypatch.setattr(cli, "_done_and_closed", done)
        raise SystemExit(code)

    monkeypatch.setattr(cli, "main", command)


def test_after_a_command_that_is_done_and_closed_the_process_ends_at_once(
    exits: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    finishing(0, done=True, monkeypatch=monkeypatch)
    with pytest.raises(Exited):
        cli.entry()
    assert exits == [0]


@pytest.mark.parametrize(("code", "done"), [(0, False), (None, False), (2, True), (1, True)])
def test_otherwise_the_exit_and_its_code_are_the_commands(
    exits: list[int], monkeypatch: pytest.MonkeyPatch, code: int | None, done: bool
) -> None:
    finishing(code, done=done, monkeypatch=monkeypatch)
    with pytest.raises(SystemExit) as raised:
        cli.entry()
    assert raised.value.code == code and exits == []
