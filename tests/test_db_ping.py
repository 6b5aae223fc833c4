"""Pooled connections are pinged only after sitting idle, and a dead one is replaced without an error."""
from __future__ import annotations

from sqlalchemy import create_engine, text

from trainapp.extensions import ping_after_idle


def _engine(tmp_path, idle_seconds):
    engine = create_engine(f"sqlite:///{tmp_path / 'ping.sqlite3'}")
    ping_after_idle(engine, idle_seconds)
    pings = []
    original = engine.dialect.do_ping

    def counting_ping(dbapi_connection):
        pings.append(1)
        return original(dbapi_connection)

    engine.dialect.do_ping = counting_ping  # this engine's own dialect object
    return engine, pings


def test_connection_idle_long_enough_is_pinged_and_replaced_when_dead(tmp_path):
    engine, pings = _engine(tmp_path, 0)
    with engine.connect() as conn:
        dropped = conn.connection.dbapi_connection
        assert conn.execute(text("SELECT 1")).scalar() == 1
    dropped.close()  # as if the server had closed it while it sat in the pool
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 2")).scalar() == 2
        assert conn.connection.dbapi_connection is not dropped
    assert pings  # the dead connection was found by the ping, not by the statement
    engine.dispose()


def test_connection_back_in_use_within_the_limit_is_not_pinged(tmp_path):
    engine, pings = _engine(tmp_path, 3600)
    for _ in range(3):
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    assert pings == []
    engine.dispose()
