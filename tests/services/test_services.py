"""Redis and PostgreSQL are real servers, started by the fixtures on free loopback ports."""

from __future__ import annotations

import psycopg
import pytest
import redis
import sqlalchemy as sa

from sparket_local_services.pki import make_server_pki
from sparket_local_services.services import PostgresServer, RedisServer

pytestmark = pytest.mark.services


def test_redis_server_answers_and_runs_lua(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    try:
        assert client.ping() is True
        assert client.eval("return redis.call('INCRBY', KEYS[1], ARGV[1])", 1, "{v}:n", 5) == 5
        assert redis_server.url.startswith("redis://127.0.0.1:")
    finally:
        client.close()


def test_redis_restart_keeps_the_port_and_drops_the_data(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    server = RedisServer(workdir=tmp_path_factory.mktemp("redis-restart"))
    server.start()
    try:
        port = server.port
        client = redis.Redis.from_url(server.url)
        client.set("k", "v")
        client.close()
        server.restart()
        client = redis.Redis.from_url(server.url)
        assert server.port == port
        assert client.get("k") is None
        client.close()
    finally:
        server.stop()
    assert server.process is None


def test_postgres_server_accepts_psycopg3_and_sqlalchemy(postgres_server: PostgresServer) -> None:
    dsn = postgres_server.url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        version = conn.execute("show server_version_num").fetchone()
        assert version is not None and int(version[0]) >= 150000

    engine = sa.create_engine(postgres_server.url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("create table probe (id int primary key, name text)"))
            conn.execute(sa.text("insert into probe values (1, 'one'), (2, 'two')"))
        with engine.connect() as conn:
            names = conn.execute(sa.text("select name from probe order by id")).scalars().all()
        assert names == ["one", "two"]
    finally:
        engine.dispose()


def test_redis_with_a_password_acl_user_and_tls_only(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The production-like server the budget access tests use: TLS on its port and no
    plain one, `requirepass`, and an ACL user."""
    workdir = tmp_path_factory.mktemp("redis-secured")
    pki = make_server_pki(workdir / "pki", common_name="redis")
    server = RedisServer(
        workdir=workdir / "data",
        password="pw-default",
        acl=("budgets on >pw-user ~* +@all",),
        tls=pki,
    )
    server.start()
    try:
        assert server.url == f"rediss://127.0.0.1:{server.port}/0"
        tls = {"ssl_ca_certs": str(pki.ca_cert)}
        for kwargs in ({"password": "pw-default"}, {"username": "budgets", "password": "pw-user"}):
            client = redis.Redis.from_url(server.url, **tls, **kwargs)
            assert client.ping() is True
            client.close()
        anonymous = redis.Redis.from_url(server.url, **tls)
        with pytest.raises(redis.AuthenticationError):
            anonymous.ping()
        anonymous.close()
        plain = redis.Redis.from_url(
            server.url.replace("rediss://", "redis://"), password="pw-default"
        )
        with pytest.raises(redis.ConnectionError):
            plain.ping()
        plain.close()
    finally:
        server.stop()
