"""The sandbox over HTTP: `make_server` relays real requests to it, and the test-only views and
switches under `/__sandbox/` (not part of Altegio's API; in process too) are answered here.

Test-only views and switches need no token, are not rate-limited and are never faulted:
`GET /__sandbox/sms?company_id=&phone=`, `GET /__sandbox/records[?company_id=]`,
`POST|DELETE /__sandbox/faults` (JSON with the arguments of `Sandbox.fault`; `body` a string or
JSON), `POST /__sandbox/locations/{id}` (JSON of `configure` changes),
`POST /__sandbox/services/{id}/withdraw` and `POST /__sandbox/staff/{id}/remove`. Bad input is a
400 `{"error": ...}`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

import httpx

from standins.altegio.faults import CLIENT_IP_EXTENSION, FaultBook, make_fault
from standins.altegio.salon import SalonState, digits
from standins.altegio.seed import SANDBOX_COMPANY_ID
from standins.altegio.wire import as_int, not_found

logger = logging.getLogger(__name__)


class Handler(Protocol):
    """What answers the requests: the `Sandbox`, or anything wrapping it."""

    def handle(self, request: httpx.Request) -> httpx.Response: ...


def answer_hook(
    state: SalonState, faults: FaultBook, method: str, name: str, request: httpx.Request
) -> tuple[int, Any]:
    """Test-only views and switches under `/__sandbox/`; not part of Altegio's API."""
    params = request.url.params
    method = method.upper()
    match method, name.strip("/").split("/"):
        case "POST", ["faults"]:
            return _hook_change(request, lambda body: _hook_fault(faults, body))
        case "DELETE", ["faults"]:
            return 200, {"cleared": faults.clear()}
        case "POST", ["locations", cid]:
            return _hook_change(request, lambda body: _hook_configure(state, cid, body))
        case "POST", ["services", sid, "withdraw"]:
            return _hook_change(request, lambda _: state.withdraw_service(_hook_id(sid)))
        case "POST", ["staff", sid, "remove"]:
            return _hook_change(request, lambda _: state.remove_staff(_hook_id(sid)))
    if method == "GET" and name.strip("/") == "sms":
        sms_company = as_int(params.get("company_id")) or SANDBOX_COMPANY_ID
        sent = state.codes.get((sms_company, digits(params.get("phone", ""))))
        return 200, {"company_id": sms_company, "code": sent.code if sent else None}
    if method == "GET" and name.strip("/") == "records":
        rows = state.rows(as_int(params.get("company_id")))
        return 200, [
            {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
            for row in rows
        ]
    not_found()


def _hook_change(request: httpx.Request, change: Callable[[Any], object]) -> tuple[int, Any]:
    """Run a hook's change on its JSON body; bad input of any kind is a 400."""
    raw = request.read()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return 400, {"error": "the body is not JSON"}
    try:
        change(body)
    except (KeyError, TypeError, ValueError) as error:
        message = error.args[0] if error.args else type(error).__name__
        return 400, {"error": str(message)}
    return 200, {"ok": True}


def _hook_configure(state: SalonState, cid: str, body: Any) -> None:
    if not isinstance(body, dict):
        raise TypeError("the body must be a JSON object of location fields")
    state.configure(_hook_id(cid), body)


def _hook_fault(faults: FaultBook, body: Any) -> None:
    if not isinstance(body, dict):
        raise TypeError("the body must be a JSON object")
    known = {
        "method", "route", "status", "body", "content_type", "headers", "carry_out",
        "times", "path_contains",
    }  # fmt: skip
    if unknown := set(body) - known:
        raise TypeError(f"unknown fault fields: {', '.join(sorted(unknown))}")
    if "method" not in body or "route" not in body:
        raise TypeError("a fault needs a method and a route")
    fault = make_fault(
        body["method"],
        body["route"],
        status=body.get("status", 500),
        body=body.get("body", ...),
        content_type=body.get("content_type"),
        headers=body.get("headers"),
        carry_out=body.get("carry_out", False),
        times=body.get("times", 1),
        path_contains=body.get("path_contains", ""),
    )
    faults.add(fault)


def _hook_id(segment: str) -> int:
    value = as_int(segment)
    if value is None:
        raise ValueError(f"{segment!r} is not an id")
    return value


def make_server(sandbox: Handler, host: str = "127.0.0.1", port: int = 8099) -> ThreadingHTTPServer:
    """An HTTP server relaying every request to `sandbox`; port 0 picks a free port."""

    class Relay(BaseHTTPRequestHandler):
        server_version = "AltegioSandbox/1.0"
        # Keep-alive, as Altegio's own servers: a client reuses its connections.
        protocol_version = "HTTP/1.1"
        # Headers and body leave in two writes: without this, Nagle's algorithm and the client's
        # delayed acknowledgement hold every answer back for some 40 ms.
        disable_nagle_algorithm = True

        def relay(self) -> None:
            try:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length > 0 else b""
                authority = self.headers.get("Host") or f"{host}:{port}"
                request = httpx.Request(
                    self.command,
                    f"http://{authority}{self.path}",
                    headers=[(k, v) for k, v in self.headers.items() if k.lower() != "host"],
                    content=body,
                    extensions={CLIENT_IP_EXTENSION: self.client_address[0]},
                )
                response = sandbox.handle(request)
            except Exception:
                logger.exception("sandbox failed on %s %s", self.command, self.path)
                response = httpx.Response(
                    500,
                    json={"success": False, "data": None, "meta": {"message": "Server error"}},
                )
            self.send_response(response.status_code)
            self.send_header("Content-Type", response.headers.get("Content-Type", "text/plain"))
            for name, value in response.headers.multi_items():
                # Framing is this server's business; a fault's own headers (Retry-After) pass.
                if name.lower() not in {"content-type", "content-length", "transfer-encoding"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.content)))
            self.end_headers()
            self.wfile.write(response.content)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = relay

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("%s " + format, self.address_string(), *args)

    return ThreadingHTTPServer((host, port), Relay)


def serve(sandbox: Handler, host: str = "127.0.0.1", port: int = 8099) -> None:
    """Serve the sandbox over HTTP until interrupted."""
    server = make_server(sandbox, host, port)
    logger.info("Altegio sandbox listening on http://%s:%d/api", *server.server_address[:2])
    try:
        server.serve_forever()
    finally:
        server.server_close()
