"""The HTTP side: a threaded HTTP/1.1 server (keep-alive, chunked streams for watches and
followed logs) that routes requests, applies fault rules, audits, and calls the ApiServer."""

from __future__ import annotations

import contextlib
import json
import logging
import select
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from kubeemu.apiserver import ApiServer
from kubeemu.audit import AuditLog, RequestRecord
from kubeemu.errors import REASONS, ApiError, bad_request
from kubeemu.faults import FaultRule, Faults
from kubeemu.routing import Route, route
from kubeemu.selectors import object_filter
from kubeemu.util import JSON
from kubeemu.watch import expired_event, watch_events

logger = logging.getLogger("kubeemu")


@dataclass
class ServerContext:
    """What request handlers share."""

    api: ApiServer
    faults: Faults
    audit: AuditLog
    address: str = ""
    bookmark_interval: float = 1.0
    default_watch_timeout: float = 1800.0


class EmulatorHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that can cut every open connection on shutdown."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], context: ServerContext) -> None:
        super().__init__(address, Handler)
        self.context = context
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conn_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shuts down every open client socket (ends keep-alive reads and streams)."""
        with self._conn_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


def _flag(value: str | None) -> bool:
    return value is not None and value.lower() in ("true", "1")


def _int(query: dict[str, str], key: str) -> int | None:
    value = query.get(key)
    if value in (None, ""):
        return None
    try:
        return int(str(value))
    except ValueError as error:
        raise bad_request(f"{key}: Invalid value: {value!r}: must be an integer") from error


class Handler(BaseHTTPRequestHandler):
    """One connection; requests are answered in Kubernetes JSON."""

    protocol_version = "HTTP/1.1"
    server_version = "kubeemu/1.0"
    server: EmulatorHTTPServer
    _record: RequestRecord
    _recorded: bool = False

    def setup(self) -> None:
        """No Nagle delay: headers and body go out as separate writes."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Routes the access log to the ``kubeemu`` logger at DEBUG."""
        logger.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        """GET."""
        self._handle()

    def do_POST(self) -> None:
        """POST."""
        self._handle()

    def do_PUT(self) -> None:
        """PUT."""
        self._handle()

    def do_PATCH(self) -> None:
        """PATCH."""
        self._handle()

    def do_DELETE(self) -> None:
        """DELETE."""
        self._handle()

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def ctx(self) -> ServerContext:
        """The shared server context."""
        return self.server.context

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send_json(
        self,
        code: int,
        body: Any,
        headers: dict[str, str] | None = None,
        warnings: list[str] | None = None,
    ) -> None:
        data = json.dumps(body).encode()
        self._audit(code)
        self.send_response(code, REASONS.get(code) if code >= 400 else None)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        for warning in warnings or []:
            self.send_header("Warning", f'299 - "{warning.replace(chr(34), chr(92) + chr(34))}"')
        self.end_headers()
        self.wfile.write(data)

    def _send_text(self, code: int, data: bytes) -> None:
        self._audit(code)
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _client_gone(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if readable:
                return bool(self.connection.recv(1, socket.MSG_PEEK) == b"")
        except (OSError, ValueError):
            return True
        return False

    def _stream(self, content_type: str, chunks: Iterator[bytes | None]) -> None:
        self._audit(200)
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.flush()
        try:
            for chunk in chunks:
                if chunk is None:
                    if self._client_gone():
                        self.close_connection = True
                        return
                    continue
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    # -- requests ---------------------------------------------------------------------------

    def _audit(self, code: int | None = None) -> None:
        """Records the request once, just before its answer goes out (or the socket closes)."""
        if code is not None:
            self._record.code = code
        if not self._recorded:
            self._recorded = True
            self.ctx.audit.record(self._record)

    def _handle(self) -> None:
        self._recorded = False
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        record = RequestRecord(
            verb="",
            group="",
            resource="",
            namespace=None,
            name=None,
            method=self.command,
            path=split.path,
            query=query,
            user_agent=self.headers.get("User-Agent", ""),
        )
        self._record = record
        try:
            body = self._read_body()
            parsed = route(self.command, split.path, _flag(query.get("watch")), self.ctx.address)
            record.verb, record.group, record.resource = parsed.verb, parsed.group, parsed.resource
            record.namespace, record.name = parsed.namespace, parsed.name
            rule = self.ctx.faults.take(
                parsed.verb, parsed.group, parsed.resource, parsed.namespace, parsed.name
            )
            if rule is not None and self._fault(rule, parsed, record):
                return
            record.code = 200
            self._dispatch(parsed, query, body, record)
        except ApiError as error:
            record.code = error.code
            self._send_json(error.code, error.status(), error.headers)
        except Exception as error:
            logger.exception("kubeemu: internal error on %s %s", self.command, self.path)
            record.code = 500
            status = ApiError(500, f"Internal error occurred: {error}").status()
            self._send_json(500, status)
        finally:
            self._audit()

    def _fault(self, rule: FaultRule, parsed: Route, record: RequestRecord) -> bool:
        """Applies a fault; returns True when the request is answered (or dropped)."""
        if rule.delay:
            time.sleep(rule.delay)
        if rule.drop_connection:
            record.fault = True
            self._audit(0)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return True
        if rule.status is None:
            return False
        record.fault, record.code = True, rule.status
        if parsed.verb == "watch" and rule.status == 410:
            event = expired_event(0, self.ctx.api.store.resource_version)
            self._stream("application/json", iter([json.dumps(event).encode() + b"\n"]))
            return True
        headers: dict[str, str] = {}
        retry_after = rule.retry_after
        if retry_after is None and rule.status in (429, 503):
            retry_after = 1
        if retry_after is not None:
            headers["Retry-After"] = str(
                int(retry_after) if float(retry_after).is_integer() else retry_after
            )
        message = rule.message or {
            429: "Too many requests, please try again later.",
            409: "Operation cannot be fulfilled: the object has been modified (injected fault)",
        }.get(rule.status, f"injected fault {rule.status} for {parsed.verb} {parsed.resource}")
        error = ApiError(rule.status, message, reason=rule.reason)
        self._send_json(rule.status, error.status(), headers)
        return True

    def _dispatch(
        self, parsed: Route, query: dict[str, str], body: bytes, record: RequestRecord
    ) -> None:
        api = self.ctx.api
        if parsed.rt is None:
            if isinstance(parsed.document, str):
                self._send_text(200, parsed.document.encode())
            else:
                self._send_json(200, parsed.document)
            return
        rt, ns, name, sub = parsed.rt, parsed.namespace, parsed.name, parsed.subresource
        dry_run = bool(query.get("dryRun"))
        validation = query.get("fieldValidation") or "Warn"
        verb = parsed.verb
        if sub == "proxy":
            assert ns is not None and name is not None
            path = str(parsed.document) + (f"?{self._query_string()}" if "?" in self.path else "")
            code, content_type, data = api.proxy.request(ns, name, self.command, path, body)
            record.code = code
            self._audit(code)
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if verb == "watch":
            field_selector = query.get("fieldSelector")
            if name:
                field_selector = ",".join(filter(None, [field_selector, f"metadata.name={name}"]))
            wanted = object_filter(query.get("labelSelector"), field_selector, rt.plural)
            since = query.get("resourceVersion")
            if since not in (None, "", "0") and not str(since).isdigit():
                raise bad_request(f"resourceVersion: Invalid value: {since!r}")
            timeout = _int(query, "timeoutSeconds")
            events = watch_events(
                api.store,
                rt,
                ns,
                wanted,
                resource_version=query.get("resourceVersion"),
                timeout=float(timeout) if timeout else self.ctx.default_watch_timeout,
                stop=api.stopping,
                bookmarks=_flag(query.get("allowWatchBookmarks")),
                bookmark_interval=self.ctx.bookmark_interval,
            )

            def encoded() -> Iterator[bytes | None]:
                for event in events:
                    yield None if event is None else json.dumps(event).encode() + b"\n"

            self._stream("application/json", encoded())
            return
        if verb == "list":
            listing = api.list_objects(
                rt,
                ns,
                label_selector=query.get("labelSelector"),
                field_selector=query.get("fieldSelector"),
                limit=_int(query, "limit"),
                continue_token=query.get("continue"),
            )
            self._send_json(200, listing)
        elif verb == "get" and sub == "log":
            assert ns is not None and name is not None
            result = api.pod_log(
                ns,
                name,
                container=query.get("container"),
                follow=_flag(query.get("follow")),
                tail_lines=_int(query, "tailLines"),
                timestamps=_flag(query.get("timestamps")),
                limit_bytes=_int(query, "limitBytes"),
            )
            if isinstance(result, bytes):
                self._send_text(200, result)
            else:
                self._stream("text/plain", result)
        elif verb == "get":
            assert name is not None
            self._send_json(200, api.get(rt, ns, name))
        elif verb == "create":
            obj, warnings = api.create(
                rt, ns, self._json(body), dry_run=dry_run, field_validation=validation
            )
            record.code = 201
            self._send_json(201, obj, warnings=warnings)
        elif verb == "update":
            assert name is not None
            obj, warnings = api.update(
                rt,
                ns,
                name,
                self._json(body),
                subresource=sub,
                dry_run=dry_run,
                field_validation=validation,
            )
            self._send_json(200, obj, warnings=warnings)
        elif verb == "patch":
            assert name is not None
            existed = api.store.get(rt, ns, name) is not None
            obj, warnings = api.patch(
                rt,
                ns,
                name,
                body,
                self.headers.get("Content-Type", ""),
                subresource=sub,
                dry_run=dry_run,
                field_validation=validation,
                field_manager=query.get("fieldManager"),
            )
            record.code = 200 if existed else 201
            self._send_json(record.code, obj, warnings=warnings)
        elif verb == "delete":
            assert name is not None
            options = self._json(body) if body.strip() else {}
            for key in ("propagationPolicy", "gracePeriodSeconds", "dryRun"):
                if key in query:
                    options[key] = query[key]
            deleted, warnings = api.delete(rt, ns, name, options)
            self._send_json(200, deleted, warnings=warnings)
        elif verb == "deletecollection":
            options = self._json(body) if body.strip() else {}
            if "propagationPolicy" in query:
                options["propagationPolicy"] = query["propagationPolicy"]
            status = api.delete_collection(
                rt,
                ns,
                label_selector=query.get("labelSelector"),
                field_selector=query.get("fieldSelector"),
                options=options,
            )
            self._send_json(200, status)

    def _query_string(self) -> str:
        return urlsplit(self.path).query

    @staticmethod
    def _json(body: bytes) -> JSON:
        try:
            value = json.loads(body or b"{}")
        except ValueError as error:
            raise bad_request(f"the body of the request is not valid JSON: {error}") from error
        if not isinstance(value, dict):
            raise bad_request("the body of the request must be a JSON object")
        return value
