"""The container files: what the image is built from exists in the repository, it runs as a user
of its own with the database on a volume, and its health check asks /healthz and means it."""

from __future__ import annotations

import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments left out."""
    joined = DOCKERFILE.replace("\\\n", " ")
    found = []
    for raw in joined.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def test_the_image_is_built_from_the_repository_alone() -> None:
    sources = []
    for word, rest in instructions():
        if word == "COPY" and not rest.startswith("--from"):
            sources.extend(shlex.split(rest)[:-1])
    assert sources, "the image copies the package's sources"
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert not any(source in ignored for source in sources)
    # Everything the package is made of reaches the build stage.
    packages = {"bot", "conversations", "standins"}
    assert packages <= {source.rstrip("/") for source in sources}


def test_the_package_is_installed_as_a_wheel_on_a_slim_base() -> None:
    steps = instructions()
    bases = [rest.split()[0] for word, rest in steps if word == "FROM"]
    assert bases and all(base.startswith("python:3.11-slim") for base in bases)
    runs = " ".join(rest for word, rest in steps if word == "RUN")
    assert "pip wheel" in runs and "pip install" in runs and ".whl" in runs
    assert "-e " not in runs


def test_it_runs_as_a_user_of_its_own_with_the_database_on_a_volume() -> None:
    steps = instructions()
    users = [rest for word, rest in steps if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    volumes = " ".join(rest for word, rest in steps if word == "VOLUME")
    env = " ".join(rest for word, rest in steps if word == "ENV")
    assert "/data" in volumes and "BOT_DB_PATH=/data/" in env
    assert ("CMD", '["run"]') in steps
    compose = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    assert "build: ." in compose and ":/data" in compose and "env_file: .env" in compose


class Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def health_server() -> Iterator[HTTPServer]:
    server = HTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_health_check_asks_healthz_and_fails_on_503(health_server: HTTPServer) -> None:
    check = next(rest for word, rest in instructions() if word == "HEALTHCHECK")
    command = shlex.split(check.split(" CMD ", 1)[1])
    assert command[0] == "python" and "/healthz" in command[-1]
    env = {"WEBHOOK_LISTEN": f"0.0.0.0:{health_server.server_port}"}

    def run() -> int:
        return subprocess.run(
            [sys.executable, *command[1:]], env=env, capture_output=True, timeout=30, check=False
        ).returncode

    Health.status = 200
    assert run() == 0
    Health.status = 503
    assert run() != 0
    Health.status = 200
