"""Faults a test injects into REST: a channel that always fails, or the next matching requests."""

from __future__ import annotations

import re

from .errors import FakeHTTPError
from .models import FakeChannel, Fault
from .state import DiscordState


class Faults(DiscordState):
    """What goes wrong, and when; ``http.py`` applies it after authentication and rate limiting."""

    def set_channel_error(
        self, channel_id: FakeChannel | int, status: int = 403, code: int = 50013, message: str = "Missing Permissions"
    ) -> None:
        cid = channel_id.id if isinstance(channel_id, FakeChannel) else int(channel_id)
        self._channel_errors[cid] = FakeHTTPError(status, code, message)

    def clear_channel_error(self, channel_id: FakeChannel | int) -> None:
        cid = channel_id.id if isinstance(channel_id, FakeChannel) else int(channel_id)
        self._channel_errors.pop(cid, None)

    def fail_next(
        self,
        method: str | None = "POST",
        path_regex: str = r"/channels/\d+/messages",
        status: int | None = 500,
        count: int = 1,
        *,
        code: int | None = None,
        message: str | None = None,
        reset: bool = False,
        delay: float | None = None,
        after_processing: bool = False,
        retry_after: float = 0.1,
    ) -> Fault:
        """Make the next ``count`` matching requests fail.

        ``path_regex`` must fully match the path after ``/api/v10`` (no query string). ``status`` is the error
        status (429 produces a proper route 429 with ``retry_after``); ``status=None`` with ``reset=True`` aborts
        the TCP connection (connection reset), and with only ``delay`` the request is answered normally after
        hanging for ``delay`` seconds. ``after_processing=True`` (with ``reset``) performs the request first and
        then drops the connection, i.e. the response is lost; with ``delay`` instead of ``reset`` it performs
        the request, then hangs ``delay`` seconds before dropping the connection (a crash window for the client).
        """
        fault = Fault(
            method.upper() if method else None,
            path_regex,
            status,
            count,
            code,
            message,
            reset,
            delay,
            after_processing,
            retry_after,
        )
        self._faults.append(fault)
        return fault

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.remaining <= 0:
                continue
            if fault.method is not None and fault.method != method:
                continue
            if re.fullmatch(fault.path_regex, path):
                fault.hits += 1
                return fault
        return None
