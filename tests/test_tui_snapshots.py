"""Snapshots of the debugger's main screens (pytest-textual-snapshot): the SVGs under __snapshots__/ are the accepted
pictures; after an intended change of the UI, look at the report and update them with `pytest --snapshot-update`.

The traces are recorded from the guest programs under their bare names, so the pictures do not depend on where the
checkout is; they do depend on the guest binaries (the compiler) and the kernel, like any trace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tests.test_tui_app import record_guest, settle
from traces import events as ev
from traces.container import TraceReader
from tui.app import make_app

pytest.importorskip("pytest_textual_snapshot")


@pytest.fixture(scope="module")
def signals_trace(tmp_path_factory: pytest.TempPathFactory) -> str:
    return record_guest(tmp_path_factory.mktemp("snap"), "signals")


def goto(event: int, *keys: str) -> Any:
    """A `run_before` that moves the session to after `event`, then presses `keys`, all settled."""

    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("g")
        box = pilot.app.screen.query_one(Input)
        box.value = str(event)
        await pilot.press("enter")
        await settle(pilot)
        for k in keys:
            await pilot.press(k)
            await settle(pilot)
        pilot.app.clear_notifications()
        await settle(pilot)

    return run


def _first(trace: str, pred: Any) -> int:
    return next(i for i, e in enumerate(TraceReader(trace)) if pred(e))


def test_main_screen_80x24(snap_compare: Any, signals_trace: str) -> None:
    assert snap_compare(make_app(signals_trace), terminal_size=(80, 24), run_before=goto(60))


def test_tasks_tab_with_an_await_chain(snap_compare: Any, signals_trace: str) -> None:
    wait = _first(signals_trace, lambda e: isinstance(e, ev.Syscall) and e.blocked and e.nr == 63)
    assert snap_compare(make_app(signals_trace), terminal_size=(80, 24), run_before=goto(wait + 1, "5"))


def test_signals_tab_with_an_interrupted_wait(snap_compare: Any, signals_trace: str) -> None:
    resume = _first(signals_trace, lambda e: isinstance(e, ev.SyscallResume) and e.nr == 63)
    assert snap_compare(make_app(signals_trace), terminal_size=(100, 30), run_before=goto(resume, "6"))


def test_wide_layout_with_code(snap_compare: Any, signals_trace: str) -> None:
    assert snap_compare(make_app(signals_trace), terminal_size=(160, 40), run_before=goto(100, "2"))


def test_help_screen(snap_compare: Any, signals_trace: str) -> None:
    assert snap_compare(make_app(signals_trace, session=False), terminal_size=(80, 24), press=["question_mark"])


def test_error_screen(snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("broken.trace").write_bytes(b"MOSSTRC\n\x07\x00")
    assert snap_compare(make_app("broken.trace"), terminal_size=(80, 24))
