"""Stopping a solve: the time limit with its reserve, signals, and their escalation."""

from __future__ import annotations

import signal

import pytest

from dlnlandscape.engines.control import RunControl, StopRequested, stop_on_signals


def test_time_limit_leaves_the_reserve_for_the_final_homotopy():
    control = RunControl(time_limit=10.0)
    control.began -= 7.0  # seven seconds have passed
    assert control.stop_reason() == ""
    control.reserve = 4.0  # the final homotopy is expected to need four
    assert control.stop_reason() == "time limit of 10 s reached"
    assert control.stop_reason(reserve=False) == ""  # the final homotopy itself stops at the limit
    control.began -= 3.0
    assert control.stop_reason(reserve=False) == "time limit of 10 s reached"
    with pytest.raises(StopRequested, match="time limit"):
        control.checker(reserve=False)()


def test_a_further_signal_stops_what_the_first_let_finish():
    control = RunControl()
    control.interrupt("SIGINT")
    assert control.stop_reason() == "interrupted by SIGINT"
    final = control.checker(since=len(control.signals))  # the final homotopy runs on after one signal
    final()
    control.interrupt("SIGTERM")
    with pytest.raises(StopRequested, match="interrupted by SIGTERM"):
        final()


def test_signals_are_recorded_then_the_third_interrupts_and_handlers_are_restored():
    before = signal.getsignal(signal.SIGINT)
    control = RunControl()
    with stop_on_signals(control):
        signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGTERM)
        assert control.signals == ["SIGINT", "SIGTERM"]
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before
