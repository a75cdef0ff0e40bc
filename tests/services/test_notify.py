"""The notifiers the services are given: the runtime's, a command's, and a gathered one."""

from __future__ import annotations

from gatehouse.runtime import Runtime
from gatehouse.services.notify import UNHEARD, Gathered, Notifier
from tests.services.conftest import Counting


def test_the_runtime_and_a_command_are_notifiers(runtime: Runtime) -> None:
    notifiers: list[Notifier] = [runtime, UNHEARD]
    for notifier in notifiers:
        notifier.changed()  # never raises: the write it reports has committed


def test_gathered_notices_are_passed_on_once() -> None:
    gathered, counting = Gathered(), Counting()
    assert gathered.flush(counting) is False
    gathered.changed()
    gathered.changed()
    assert gathered.flush(counting) is True
    assert counting.count == 1
    assert gathered.flush(counting) is False
    assert counting.count == 1
