"""Child processes in their own process group: start with a log file, signal the group, stop and reap.

Every component of the deployment runs in its own session, so a signal to its group reaches the
process and everything it forked (Celery pool processes, task supervisors, the trigger runner) and
nothing else. A group is signalled only while its leader is unreaped, so its id is still ours.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

STOP_GRACE_SECONDS = 20.0


@dataclass
class Child:
    """One started component: its name, command, environment and log file, and the live process."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    log_path: Path
    user: str | None = None  # run as this user (PostgreSQL refuses root)
    stop_signal: signal.Signals = signal.SIGTERM
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    starts: int = 0

    def start(self) -> None:
        """(Re)start the component; its output is appended to `log_path`."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                list(self.argv),
                env=dict(self.env),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                user=self.user,
            )
        self.starts += 1

    @property
    def alive(self) -> bool:
        """The leader has not exited (checked without reaping it, so its group id stays ours)."""
        return self.process is not None and self.process.returncode is None and not self._exited()

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"{self.name} was never started")
        return self.process.pid

    def _exited(self) -> bool:
        assert self.process is not None
        info = os.waitid(os.P_PID, self.process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        return info is not None and info.si_pid != 0

    def _unreaped(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def signal_group(self, signum: signal.Signals) -> None:
        """Send `signum` to the component's whole process group, only while its leader is unreaped."""
        if self._unreaped():
            with suppress(ProcessLookupError):
                os.killpg(self.pid, signum)

    def kill(self) -> None:
        """SIGKILL the group (the process and every child it forked) and reap the leader."""
        self.signal_group(signal.SIGKILL)
        if self.process is not None:
            self.process.wait()

    def request_stop(self) -> None:
        """Send `stop_signal` to the group (continuing it first, should it be paused)."""
        self.signal_group(signal.SIGCONT)
        self.signal_group(self.stop_signal)

    def wait_stopped(self, deadline: float) -> None:
        """Wait for the leader until `deadline` (monotonic), then SIGKILL what is left and reap it.

        The leftovers (pool processes that outlived the leader) are killed before the leader is
        reaped, while the group id cannot belong to anyone else.
        """
        if not self._unreaped():
            return
        while time.monotonic() < deadline and not self._exited():
            time.sleep(0.1)
        self.kill()

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """`stop_signal` to the group, SIGKILL after `grace` seconds, then reap."""
        self.request_stop()
        self.wait_stopped(time.monotonic() + grace)

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def run(
    argv: Sequence[str],
    log_path: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
    user: str | None = None,
) -> None:
    """Run a command to completion with its output in `log_path`; raise with the log's end on failure."""
    with log_path.open("ab") as log:
        result = subprocess.run(
            list(argv),
            env=None if env is None else dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
            user=user,
        )
    if result.returncode != 0:
        text = log_path.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(argv)} exited with {result.returncode}:\n{text}")
