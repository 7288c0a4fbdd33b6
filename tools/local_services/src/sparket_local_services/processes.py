"""Start and stop the local servers as supervised child processes.

Every server runs in its own session (process group), writes to its own log file, and is
stopped with SIGTERM to the whole group, then SIGKILL after a grace period: nothing is
left running when a test session or `cluster down` ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sparket_local_services.errors import StartupFailed
from sparket_local_services.waits import wait_for


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log file, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log written)"
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class ManagedProcess:
    """One server process with its log; `start` is idempotent-free by design (start once)."""

    name: str
    argv: Sequence[str]
    log_path: Path
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    user: str | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def pid(self) -> int:
        if self.popen is None:
            raise RuntimeError(f"{self.name} was never started")
        return self.popen.pid

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        try:
            self.popen = subprocess.Popen(
                list(self.argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(self.env) if self.env is not None else None,
                cwd=self.cwd,
                start_new_session=True,
                user=self.user,
            )
        finally:
            log.close()

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def wait_until(self, ready: Callable[[], bool], *, timeout: float, what: str) -> None:
        """Poll `ready` until it is true; fail fast with the log tail if the process dies."""

        def ready_while_running() -> bool:
            if not self.running():
                raise StartupFailed(
                    f"{self.name} exited before {what} (log: {self.log_path})\n"
                    f"{tail(self.log_path)}"
                )
            return ready()

        try:
            wait_for(ready_while_running, timeout=timeout, interval=0.2, what=what)
        except TimeoutError:
            raise StartupFailed(
                f"{self.name} not ready after {timeout:.0f} s: {what} (log: {self.log_path})\n"
                f"{tail(self.log_path)}"
            ) from None

    def stop(self, grace: float = 10.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        stop_group(self.popen.pid, grace=grace)
        self.popen.wait(timeout=grace)


def vm_rss_kib(pid: int) -> int:
    """VmRSS of `pid` in KiB, from /proc (Linux): the benchmarks' memory figure."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_group(pgid: int, *, grace: float = 10.0) -> None:
    """SIGTERM a process group, then SIGKILL it if it is still there after `grace` seconds."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reap(pgid)
        if not _group_alive(pgid):
            return
        time.sleep(0.1)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return
    _reap(pgid)


def _reap(pid: int) -> None:
    """Collect our own exited child so it does not linger as a zombie (and look alive)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return
