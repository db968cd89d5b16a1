"""A real aiohttp server on 127.0.0.1 that speaks the Hugging Face, arXiv RSS and arXiv search APIs from fixtures.

Tests set what each endpoint serves and queue faults (status codes, malformed bodies, hangs, resets);
the server records every request so tests can assert on conditional headers and request counts.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from testing import arxiv_api
from testing.arxiv_api import ArxivRecord


@dataclass
class Fault:
    status: int = 500
    body: bytes | str = b'{"error": "fault injected"}'
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # never answer (the client must time out)
    reset: bool = False  # drop the connection without an HTTP response


@dataclass
class Recorded:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int
    at: float = field(default_factory=time.monotonic)  # when the request arrived (monotonic seconds)


class PaperServer:
    def __init__(self) -> None:
        # date "YYYY-MM-DD" -> list of items (served paginated) or raw bytes (served as-is)
        self.hf_days: dict[str, list[Any] | bytes] = {}
        self.hf_papers: dict[str, dict[str, Any]] = {}
        self.hf_search_results: list[Any] = []
        self.arxiv_feed: bytes | None = None
        self.arxiv_path: str | None = None  # e.g. "/rss/cs.AI+cs.LG"; None accepts any /rss/...
        self.arxiv_last_modified = "Fri, 17 Apr 2026 04:01:37 GMT"
        # What arXiv's search API knows (``/arxiv/api/query``): filtered by category and date, paged.
        self.arxiv_records: list[ArxivRecord] = []
        self.requests: list[Recorded] = []
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._sticky: dict[str, Fault] = {}
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # ---- configuration -------------------------------------------------------------------------
    def fail(self, endpoint: str, *faults: Fault) -> None:
        """Queue one-shot faults for an endpoint: "daily_papers", "paper", "search", "arxiv" or "arxiv_api"."""
        self._faults[endpoint].extend(faults)

    def fail_always(self, endpoint: str, fault: Fault) -> None:
        self._sticky[endpoint] = fault

    def recover(self, endpoint: str | None = None) -> None:
        for name in [endpoint] if endpoint else [*self._sticky, *self._faults]:
            self._sticky.pop(name, None)
            self._faults.pop(name, None)

    def count(self, endpoint_prefix: str) -> int:
        return sum(1 for item in self.requests if item.path.startswith(endpoint_prefix))

    # ---- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> PaperServer:
        app = web.Application()
        app.router.add_get("/api/daily_papers", self._daily)
        app.router.add_get("/api/papers/search", self._search)
        app.router.add_get("/api/papers/{paper_id:.+}", self._paper)
        app.router.add_get("/rss/{categories:.+}", self._rss)
        app.router.add_get("/arxiv/api/query", self._arxiv_api)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # the site is started, so its server is set
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        self._release.set()  # let hanging handlers finish so the runner can shut down
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def rss_base(self) -> str:
        return f"{self.base_url}/rss"

    @property
    def arxiv_api_base(self) -> str:
        return f"{self.base_url}/arxiv/api"

    def arxiv_api_requests(self) -> list[Recorded]:
        return [item for item in self.requests if item.path == "/arxiv/api/query"]

    # ---- handlers --------------------------------------------------------------------------------
    async def _fault(self, endpoint: str, request: web.Request) -> web.StreamResponse | None:
        fault = self._faults[endpoint].popleft() if self._faults.get(endpoint) else self._sticky.get(endpoint)
        if fault is None:
            return None
        self._record(request, 0 if fault.hang or fault.reset else fault.status)
        if fault.hang:
            await self._release.wait()
            return web.Response(status=503)
        if fault.reset:
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=500)
        body = fault.body.encode() if isinstance(fault.body, str) else fault.body
        return web.Response(status=fault.status, body=body, headers=fault.headers)

    def _record(self, request: web.Request, status: int) -> None:
        self.requests.append(Recorded(request.path, dict(request.query), dict(request.headers), status))

    @staticmethod
    def _json(data: Any, status: int = 200) -> web.Response:
        return web.Response(status=status, body=json.dumps(data).encode(), content_type="application/json")

    async def _daily(self, request: web.Request) -> web.StreamResponse:
        if (fault := await self._fault("daily_papers", request)) is not None:
            return fault
        self._record(request, 200)
        day = request.query.get("date", "")
        limit = min(int(request.query.get("limit", "50")), 100)
        page = int(request.query.get("p", "0"))
        items = self.hf_days.get(day, [])
        if isinstance(items, bytes):
            return web.Response(body=items, content_type="application/json")
        return self._json(items[page * limit : (page + 1) * limit])

    async def _paper(self, request: web.Request) -> web.StreamResponse:
        if (fault := await self._fault("paper", request)) is not None:
            return fault
        paper = self.hf_papers.get(request.match_info["paper_id"])
        self._record(request, 200 if paper else 404)
        if paper is None:
            return self._json({"error": "Paper not found"}, status=404)
        return self._json(paper)

    async def _search(self, request: web.Request) -> web.StreamResponse:
        if (fault := await self._fault("search", request)) is not None:
            return fault
        self._record(request, 200)
        words = request.query.get("q", "").lower().split()
        hits = [item for item in self.hf_search_results if all(word in json.dumps(item).lower() for word in words)]
        return self._json(hits)

    async def _rss(self, request: web.Request) -> web.StreamResponse:
        if (fault := await self._fault("arxiv", request)) is not None:
            return fault
        if (self.arxiv_path is not None and request.path != self.arxiv_path) or self.arxiv_feed is None:
            self._record(request, 404)
            return web.Response(status=404, text="Not Found")
        etag = '"' + hashlib.sha256(self.arxiv_feed).hexdigest()[:16] + '"'
        if request.headers.get("If-None-Match") == etag:
            self._record(request, 304)
            return web.Response(status=304, headers={"ETag": etag})
        self._record(request, 200)
        return web.Response(
            body=self.arxiv_feed,
            content_type="application/rss+xml",
            headers={"ETag": etag, "Last-Modified": self.arxiv_last_modified},
        )

    async def _arxiv_api(self, request: web.Request) -> web.StreamResponse:
        if (fault := await self._fault("arxiv_api", request)) is not None:
            return fault
        query = arxiv_api.parse_query(dict(request.query))
        if isinstance(query, str):
            self._record(request, 400)
            return web.Response(status=400, body=arxiv_api.error_feed(query), content_type="application/atom+xml")
        self._record(request, 200)
        hits = arxiv_api.select(self.arxiv_records, query)
        page = hits[query.start : query.start + query.max_results]
        body = arxiv_api.feed(page, total=len(hits), start=query.start, per_page=query.max_results)
        return web.Response(body=body, content_type="application/atom+xml")
