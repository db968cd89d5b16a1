"""Long Python work sharing the event loop (``bot.tasks``): it yields in slices and holds the cycle collector off."""

from __future__ import annotations

import asyncio
import gc

import pytest

from bot.tasks import Slices, without_cycle_collection


async def test_slices_let_other_tasks_run_once_the_slice_is_spent() -> None:
    ran: list[int] = []

    async def other() -> None:
        ran.append(1)

    task = asyncio.create_task(other())
    never = Slices(seconds=3600)
    for _ in range(1_000):
        await never.pause()
    assert ran == []  # the slice is not spent: no yield, the other task has not run
    await Slices(seconds=0).pause()
    assert ran == [1]
    await task


def test_the_cycle_collector_is_held_off_inside_and_restored_after() -> None:
    assert gc.isenabled()
    with without_cycle_collection():
        assert not gc.isenabled()
        with without_cycle_collection():  # overlapping callers share one pause
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_switched_off_by_someone_else_stays_off() -> None:
    gc.disable()
    try:
        with without_cycle_collection():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_error_inside_still_restores_the_collector() -> None:
    with pytest.raises(ValueError, match="boom"), without_cycle_collection():
        raise ValueError("boom")
    assert gc.isenabled()
