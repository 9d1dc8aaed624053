"""A throw-away PostgreSQL for the tests: one cluster per session, a fresh database per test.

The cluster is `standins/postgres_cluster.py`'s (run as the unprivileged `postgres` user when
the tests run as root, on a unix socket only, fsync off, removed when the session ends).
Without PostgreSQL's programs, or without psycopg, the tests that need it are skipped with the
reason.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from standins.postgres_cluster import Cluster, ClusterUnavailable, running_cluster

__all__ = ["Cluster", "pg_cluster", "pg_dsn"]


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    cluster = running_cluster()
    try:
        started = next(cluster)
    except ClusterUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield started
    finally:
        cluster.close()


@pytest.fixture
def pg_dsn(pg_cluster: Cluster) -> str:
    """A fresh, empty database of the session's cluster, for one test."""
    return pg_cluster.create_database()
