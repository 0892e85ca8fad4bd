"""The local traffic-splitting reverse proxy: one stable URL for every deployment.

``python -m kaptain.serving.router --port P --routes FILE``

* ``/v1/models/<name>...`` and ``/v2/models/<name>...`` go to deployment ``<name>``: a
  revision is picked by weight (:mod:`kaptain.serving.routes`), then one of its replicas in
  turn. The answer carries ``x-kaptain-revision``. A backend that cannot be reached gives
  ``502`` (counted as a ``5xx`` of that revision); an unknown deployment ``404``.
* ``GET /metrics`` -- per-revision metrics (:mod:`kaptain.serving.request_metrics`).
* ``GET /-/routes`` -- the route table in effect; ``GET /-/healthz`` -- ``{"pid", "routes"}``.

The routes file is re-read whenever it changes (inode, mtime or size; checked on every
request), so replacing it atomically changes the split for every later request.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from kaptain.serving.request_metrics import RequestMetrics, RevisionKey
from kaptain.serving.routes import DeploymentRoute, load_routes, routes_document

__all__ = ["Router", "main"]

_MODEL_PATH = re.compile(r"^/v[12]/models/([^/:]+)")
_HOP_BY_HOP = frozenset(
    {
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
        "trailers", "transfer-encoding", "upgrade", "host", "content-length",
    }
)  # fmt: skip
REVISION_HEADER = "x-kaptain-revision"
"""Response header naming the revision that answered."""


def _forwardable(headers: Mapping[str, str]) -> CIMultiDict[str]:
    return CIMultiDict((k, v) for k, v in headers.items() if k.lower() not in _HOP_BY_HOP)


class Router:
    """Routes inference requests to revisions and records what happened.

    Args:
        routes_file: The JSON routes file (see :mod:`kaptain.serving.routes`).
    """

    def __init__(self, routes_file: Path) -> None:
        self._file = routes_file
        self._stamp: tuple[int, int, int] | None = None
        self._routes: dict[str, DeploymentRoute] = {}
        self._session: aiohttp.ClientSession | None = None
        self.metrics = RequestMetrics()

    def routes(self) -> dict[str, DeploymentRoute]:
        """The route table, re-read when the file changed."""
        try:
            info = self._file.stat()
            stamp: tuple[int, int, int] | None = (info.st_ino, info.st_mtime_ns, info.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp != self._stamp:
            self._routes = load_routes(self._file)
            self._stamp = stamp
        return self._routes

    def app(self) -> web.Application:
        """The aiohttp application."""
        application = web.Application(client_max_size=64 * 1024**2)
        application.router.add_get("/metrics", self._metrics)
        application.router.add_get("/-/routes", self._routes_view)
        application.router.add_get("/-/healthz", self._healthz)
        application.router.add_route("*", "/{tail:.*}", self._proxy)
        application.cleanup_ctx.append(self._client)
        return application

    async def _client(self, _app: web.Application) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=5)
        async with aiohttp.ClientSession(
            connector=connector, timeout=timeout, auto_decompress=False
        ) as session:
            self._session = session
            yield

    async def _metrics(self, _request: web.Request) -> web.Response:
        return web.Response(text=self.metrics.render(), content_type="text/plain")

    async def _routes_view(self, _request: web.Request) -> web.Response:
        return web.json_response(routes_document(self.routes()))

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"pid": os.getpid(), "routes": str(self._file)})

    async def _proxy(self, request: web.Request) -> web.StreamResponse:
        match = _MODEL_PATH.match(request.path)
        route = self.routes().get(match.group(1)) if match else None
        if match is None or route is None:
            return web.json_response({"error": f"no deployment serves {request.path}"}, status=404)
        revision = route.pick()
        if revision is None:
            return web.json_response({"error": "no revision gets traffic"}, status=503)
        key = RevisionKey(route.namespace, match.group(1), revision.revision)
        backend = revision.next_backend()
        body = await request.read()
        assert self._session is not None
        loop = asyncio.get_running_loop()
        started = loop.time()
        status = 502
        self.metrics.started(key)
        try:
            async with self._session.request(
                request.method,
                backend + request.path_qs,
                headers=_forwardable(request.headers),
                data=body,
            ) as answer:
                payload = await answer.read()
                status = answer.status
                headers = _forwardable(answer.headers)
        except (aiohttp.ClientError, TimeoutError) as error:
            payload_error = f"revision {revision.revision} at {backend} failed: {error}"
            return web.json_response(
                {"error": payload_error}, status=502, headers={REVISION_HEADER: key.revision}
            )
        finally:
            self.metrics.finished(key, status, (loop.time() - started) * 1000)
        headers[REVISION_HEADER] = key.revision
        return web.Response(status=status, body=payload, headers=headers)


def main(argv: list[str] | None = None) -> None:
    """Serve the router until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(description="Kaptain's local traffic-splitting router.")
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--routes", required=True, type=Path, help="the JSON routes file")
    args = parser.parse_args(argv)
    web.run_app(
        Router(args.routes).app(), host="127.0.0.1", port=args.port, print=None, access_log=None
    )


if __name__ == "__main__":
    main()
