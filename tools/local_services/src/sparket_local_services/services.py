"""Real Redis and PostgreSQL servers for tests and the demo, on free loopback ports.

The servers come from Debian's packages (`tools/install-system-deps.sh` installs them);
nothing here assumes a server is already running, and each instance lives in its own
directory that is removed when it stops.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sparket_local_services.errors import MissingDependency
from sparket_local_services.pki import ServerPki
from sparket_local_services.ports import free_port, is_listening
from sparket_local_services.processes import ManagedProcess

INSTALL_HINT = "install it with `make setup` (Debian: apt-get install redis-server postgresql)"


def find_redis_server() -> Path:
    found = shutil.which("redis-server")
    if not found:
        raise MissingDependency(f"missing: redis-server; {INSTALL_HINT}")
    return Path(found)


def find_postgres_bindir() -> Path:
    """The newest PostgreSQL server install (Debian keeps them in /usr/lib/postgresql/N/bin)."""
    candidates = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "postgres").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1]
    found = shutil.which("postgres")
    if found:
        return Path(found).resolve().parent
    raise MissingDependency(f"missing: the PostgreSQL server (postgres, initdb); {INSTALL_HINT}")


@dataclass
class RedisServer:
    """A redis-server on 127.0.0.1; `restart()` keeps the port (for outage tests).
    `persistent` turns on the append-only file (fsync every second), as a production
    budget store runs, so a restart keeps the fleet's state.

    A production store's access control, for tests of it: `password` is the default
    user's (`requirepass`); `acl` adds ACL users, one rule line each as `ACL SETUSER`
    takes it (e.g. "budgets on >secret ~sparket:* +@all"); `tls` serves TLS only (the
    plain port is closed) with that certificate, clients not asked for one."""

    workdir: Path
    port: int = field(default_factory=free_port)
    persistent: bool = False
    # Also listen here (the demo's pods reach Redis on their bridge's gateway address).
    extra_bind: str | None = None
    password: str | None = field(default=None, repr=False)
    acl: tuple[str, ...] = field(default=(), repr=False)
    tls: ServerPki | None = None
    process: ManagedProcess | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        """No credentials in it: clients are given those separately."""
        scheme = "rediss" if self.tls else "redis"
        return f"{scheme}://127.0.0.1:{self.port}/0"

    def _access_args(self) -> list[str]:
        args: list[str] = []
        if self.password is not None:
            args += ["--requirepass", self.password]
        for rule in self.acl:
            args += ["--user", *rule.split()]
        if self.tls is not None:
            args += [
                "--port",
                "0",
                "--tls-port",
                str(self.port),
                "--tls-cert-file",
                str(self.tls.server_cert),
                "--tls-key-file",
                str(self.tls.server_key),
                "--tls-ca-cert-file",
                str(self.tls.ca_cert),
                "--tls-auth-clients",
                "no",
            ]
        else:
            args += ["--port", str(self.port)]
        return args

    def start(self, timeout: float = 20.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = ManagedProcess(
            "redis-server",
            [
                str(find_redis_server()),
                *self._access_args(),
                "--bind",
                " ".join(filter(None, ("127.0.0.1", self.extra_bind))),
                # Redis refuses every non-loopback client of a passwordless default user
                # ("protected mode"): an extra bind address is a private network a test or
                # the demo made for its own pods, which must reach it.
                "--protected-mode",
                "no" if self.extra_bind and self.password is None and not self.acl else "yes",
                "--dir",
                str(self.workdir),
                "--save",
                "",
                "--appendonly",
                "yes" if self.persistent else "no",
                "--appendfsync",
                "everysec",
                "--daemonize",
                "no",
            ],
            self.workdir / "redis.log",
        )
        self.process.start()
        self.process.wait_until(
            lambda: is_listening(self.port), timeout=timeout, what=f"redis on port {self.port}"
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@dataclass
class PostgresServer:
    """A PostgreSQL cluster made with initdb in a temp dir; trust auth on loopback only.

    initdb and postgres refuse to run as root, so as root they run as the `postgres` user
    (created by Debian's package) in a directory that user owns.
    """

    database: str = "sparket"
    port: int = field(default_factory=free_port)
    process: ManagedProcess | None = field(default=None, init=False)
    datadir_root: Path | None = field(default=None, init=False)
    bindir: Path | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{self.database}"

    def _run_as(self) -> str | None:
        if os.geteuid() != 0:
            return None
        try:
            pwd.getpwnam("postgres")
        except KeyError as exc:
            raise MissingDependency(
                "missing: a 'postgres' system user to run PostgreSQL as (root cannot); "
                f"{INSTALL_HINT}"
            ) from exc
        return "postgres"

    def start(self, timeout: float = 60.0) -> None:
        bindir = self.bindir = find_postgres_bindir()
        user = self._run_as()
        root = Path(tempfile.mkdtemp(prefix="sparket-pg-"))
        self.datadir_root = root
        if user:
            shutil.chown(root, user=user)
        data = root / "data"
        subprocess.run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
            check=True,
            capture_output=True,
            user=user,
            cwd=root,
        )
        self.process = ManagedProcess(
            "postgres",
            [
                str(bindir / "postgres"),
                "-D",
                str(data),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-k",
                str(root),
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "max_connections=200",
            ],
            root / "postgres.log",
            user=user,
            cwd=root,
        )
        # The log file must be writable by the server's user.
        (root / "postgres.log").touch()
        if user:
            shutil.chown(root / "postgres.log", user=user)
        self.process.start()
        self.process.wait_until(
            self._accepting, timeout=timeout, what=f"postgres on port {self.port}"
        )
        subprocess.run(
            [
                str(bindir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                self.database,
            ],
            check=True,
            capture_output=True,
        )

    def _bindir(self) -> Path:
        if self.bindir is None:
            raise RuntimeError("the PostgreSQL server has not been started")
        return self.bindir

    def _accepting(self) -> bool:
        result = subprocess.run(
            [str(self._bindir() / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
            capture_output=True,
            check=False,
        )
        return result.returncode == 0

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None
        if self.datadir_root is not None:
            shutil.rmtree(self.datadir_root, ignore_errors=True)
            self.datadir_root = None
