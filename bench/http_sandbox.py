"""The sandbox location served over real HTTP, with a latency per request, Altegio's limits
enforced, and every request recorded as the server saw it (run as its own process, so its CPU is
not counted as the bot's)."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from typing import Any

import httpx

from standins.altegio.sandbox import Sandbox
from standins.altegio.server import make_server


class Recorder:
    """Wraps the sandbox: waits `latency` per request and logs arrival, route and status."""

    def __init__(self, sandbox: Sandbox, latency: float) -> None:
        self.sandbox = sandbox
        self.latency = latency
        self.log: list[tuple[float, str, int, str]] = []
        self._lock = threading.Lock()

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/__bench/log"):
            with self._lock:
                body = json.dumps(self.log)
            return httpx.Response(200, content=body.encode())
        if request.url.path.startswith("/__sandbox/"):
            return self.sandbox.handle(request)  # the test-only views: not Altegio's API
        arrived = time.monotonic()
        time.sleep(self.latency)
        response = self.sandbox.handle(request)
        route = request.method + " " + request.url.path.split("/v1/")[-1].split("/")[0]
        # Which free times were read (team member, day, services), to tell reads of the same
        # from reads of different ones; nothing for other routes.
        what = ""
        if route == "GET book_times":
            what = request.url.path.split("/book_times/")[-1] + "?" + str(request.url.params)
        with self._lock:
            self.log.append((arrived, route, response.status_code, what))
        return response


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    recorder = Recorder(Sandbox(enforce_rate_limit=True), args.latency)
    server: Any = make_server(recorder, "127.0.0.1", args.port)
    print(server.server_port, flush=True)
    sys.stdout.close()
    server.serve_forever()


if __name__ == "__main__":
    main()
