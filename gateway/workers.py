"""`gamegate serve --workers N`: N gateway processes on one port, kept running.

The supervisor (this module, in the process the command started) serves nothing. It
reserves the port, then starts N workers, each `gamegate serve --worker-index I` with
the same flags, environment and settings file: a whole gateway with its own event loop,
application, connection limits and wallet client, listening on the port with
SO_REUSEPORT so the kernel spreads new connections among them (`gateway.worker` is the
worker's side). The supervisor

- prints the one start-up line when every worker listens (each reports on a socket
  pair it inherits; its end of file is also how the supervisor sees a worker exit);
- forwards SIGHUP to the workers (each reloads its jurisdiction rules) and carries on;
- forwards SIGTERM and SIGINT to the workers, and exits once they all have (SIGKILL
  after `server.shutdown_timeout_s` plus `STOP_GRACE_S`); the workers run in their own
  process group, so a terminal's Ctrl-C reaches them through here only;
- restarts a worker that exits without being asked to, at most
  `RESTARTS_PER_MINUTE_MAX` times in any minute; past that it stops the others and
  exits 1, as it does when a worker fails to start at all: restarting will not fix it;
- relays the workers' stdout whole lines at a time: a worker's log buffer writes many
  KB at once, and a pipe keeps only writes of up to 4 KB whole, so without the relay
  two workers' JSON lines could interleave mid-line.

Only a wallet that many processes may share can have more than one worker
(`check_workers`): the embedded SQLite wallet has one writer.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import structlog

from adapters.stores.sharing import single_process_reason
from gateway.settings import ServerSettings, Settings, SettingsError
from gateway.worker import READY

__all__ = [
    "RESTARTS_PER_MINUTE_MAX",
    "STOP_GRACE_S",
    "Supervisor",
    "WorkerCommand",
    "check_workers",
    "reserve_port",
]

RESTARTS_PER_MINUTE_MAX = 5
"""Unasked-for worker exits the supervisor restarts in any 60 s; one more and it gives
up (exit 1) and leaves the restart policy to what runs it (systemd, Docker, Kubernetes)."""
RESTART_WINDOW_S = 60.0
STOP_GRACE_S = 5.0
"""How much longer than a worker's own shutdown limit a stop may take before SIGKILL."""
RELAY_READ_BYTES = 65_536
EXIT_POLL_S = 0.02
"""How often an exiting worker (its link closed) is checked for its exit status. The
loop never blocks on a worker's exit: it must go on relaying what the worker still
writes, or the worker would block on a full pipe and its last log lines be cut."""
HELD_OUTPUT_BYTES_MAX = 1_048_576
"""Worker output kept back until the start-up line is out; past it, it goes out anyway
(a worker that never gets ready must not make the supervisor hoard its logs)."""
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_FORWARDED_SIGNALS = (signal.SIGHUP,)
_EXIT_OK, _EXIT_FAILED, _EXIT_BAD_SETTINGS = 0, 1, 2
"""`gamegate serve`'s exit codes (`gateway.cli`): a worker's 2 is passed on as the
supervisor's own, any other failure is 1."""

_log = structlog.get_logger("gamegate.workers")

WorkerCommand = Callable[[int, int, int], Sequence[str]]
"""(worker index, port, supervisor fd) -> the worker's command line."""
Announce = Callable[[int, str], None]
"""(port, wallet description) -> None: every worker listens."""


def check_workers(settings: Settings) -> None:
    """`SettingsError` (naming `server.workers`) unless the wallet can be shared by
    `server.workers` processes. One worker is always fine."""
    workers = settings.server.workers
    reason = single_process_reason(settings.wallet.url) if workers > 1 else None
    if reason is not None:
        raise SettingsError(
            f"server.workers: {workers} workers cannot share this wallet: {reason}. "
            "Run one worker, or use a wallet many processes share "
            "(wallet.url = redis://host:port/db)"
        )


def reserve_port(host: str, port: int) -> socket.socket:
    """A socket bound to host:port (port 0: a free one) with SO_REUSEPORT, not listening.

    Workers bind the same port with SO_REUSEPORT beside it, so a free port stays this
    gateway's while workers come and go. Refused (`OSError`, EADDRINUSE) if anything
    listens there already: SO_REUSEPORT alone would let two gateways of one user share a
    port without a word.
    """
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    with socket.socket(family, kind, proto) as probe:  # as a lone listener would bind
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(address)
        bound = probe.getsockname()
    reserved = socket.socket(family, kind, proto)
    try:
        reserved.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        reserved.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        reserved.bind(bound)
    except OSError:
        reserved.close()
        raise
    return reserved


@dataclass(eq=False)
class _Pipe:
    """A worker's stdout, relayed a whole line at a time."""

    fd: int
    partial: bytes = b""


@dataclass(eq=False)
class _Slot:
    """Worker `index`: its current process and where it stands."""

    index: int
    process: subprocess.Popen[bytes] | None = None
    link: socket.socket | None = None
    ready: bool = False
    inbox: bytes = b""


@dataclass
class _Run:
    """What one `Supervisor.run` has seen so far."""

    port: int
    announced: bool = False
    stopping: bool = False
    exit_code: int = _EXIT_OK
    stop_deadline_s: float = float("inf")
    restarts_s: collections.deque[float] = field(default_factory=collections.deque)
    held_output: list[bytes] = field(default_factory=list)
    """Worker output before the start-up line, which must come first."""
    held_bytes: int = 0


class Supervisor:
    """Run `server.workers` workers on `server.host:server.port` until stopped."""

    def __init__(
        self,
        server: ServerSettings,
        command: WorkerCommand,
        announce: Announce,
        warn: Callable[[str], None],
        *,
        restarts_per_minute_max: int = RESTARTS_PER_MINUTE_MAX,
        output: Callable[[bytes], None] | None = None,
    ) -> None:
        assert server.workers >= 1
        self._server = server
        self._command = command
        self._announce = announce
        self._warn = warn
        self._restarts_max = restarts_per_minute_max
        self._output = output or _write_stdout
        self._stop_timeout_s = server.shutdown_timeout_s + STOP_GRACE_S
        self._slots = [_Slot(index) for index in range(server.workers)]
        self._pipes: set[_Pipe] = set()
        self._selector = selectors.DefaultSelector()
        self._run: _Run | None = None

    def run(self) -> int:
        """Serve until SIGTERM or SIGINT (0) or a failure (1, or 2 for bad settings)."""
        host, port = self._server.host, self._server.port
        try:
            reserved = reserve_port(host, port)
        except OSError as exc:
            self._warn(f"cannot listen on {host}:{port}: {exc.strerror}")
            return _EXIT_FAILED
        with reserved, self._selector, _signals_to(self._selector) as wake:
            self._run = run = _Run(port=reserved.getsockname()[1])
            for slot in self._slots:
                self._start(slot)
            while self._pipes or any(slot.process is not None for slot in self._slots):
                self._step(wake, run)
            self._flush_held(run)
        return run.exit_code

    # -- the loop -------------------------------------------------------------------

    def _step(self, wake: socket.socket, run: _Run) -> None:
        timeout_s = None
        if any(slot.process is not None and slot.link is None for slot in self._slots):
            timeout_s = EXIT_POLL_S
        if run.stop_deadline_s != float("inf"):
            left_s = max(0.0, run.stop_deadline_s - time.monotonic())
            timeout_s = left_s if timeout_s is None else min(timeout_s, left_s)
        events = self._selector.select(timeout_s)
        # Signals first: a worker that exits because we were told to stop is no crash.
        if any(key.data is None for key, _ in events):
            self._take_signals(wake, run)
        for key, _ in events:
            if isinstance(key.data, _Pipe):
                self._relay(key.data, run)
            elif isinstance(key.data, _Slot):
                self._hear(key.data, run)
        for slot in self._slots:
            if slot.process is not None and slot.link is None:
                code = slot.process.poll()
                if code is not None:
                    self._ended(slot, run, code)
        if run.stopping and time.monotonic() >= run.stop_deadline_s:
            self._kill_all(run)

    def _take_signals(self, wake: socket.socket, run: _Run) -> None:
        with contextlib.suppress(BlockingIOError):
            for number in wake.recv(256):
                if number in _FORWARDED_SIGNALS:
                    self._forward(signal.Signals(number))
                else:
                    self._stop(run, signal.Signals(number), _EXIT_OK)

    def _forward(self, how: signal.Signals) -> None:
        """Pass a signal on to every running worker (SIGHUP: reload the rules)."""
        for slot in self._slots:
            if slot.process is not None:
                with contextlib.suppress(ProcessLookupError):
                    slot.process.send_signal(how)

    def _stop(self, run: _Run, how: signal.Signals, exit_code: int) -> None:
        """Ask every worker to stop; the first reason to stop decides the exit code."""
        if not run.stopping:
            run.stopping = True
            run.exit_code = exit_code
            run.stop_deadline_s = time.monotonic() + self._stop_timeout_s
        for slot in self._slots:
            if slot.process is not None:
                with contextlib.suppress(ProcessLookupError):
                    slot.process.send_signal(how)

    def _kill_all(self, run: _Run) -> None:
        for slot in self._slots:
            if slot.process is not None and slot.process.poll() is None:
                _log.warning("worker_stop_timeout", worker=slot.index, pid=slot.process.pid)
                slot.process.kill()
                run.exit_code = _EXIT_FAILED
        run.stop_deadline_s = float("inf")  # the links' end of file follows at once

    # -- one worker -----------------------------------------------------------------

    def _start(self, slot: _Slot) -> None:
        run = self._run
        assert run is not None
        ours, theirs = socket.socketpair()
        stdout, their_stdout = os.pipe()
        try:
            process = subprocess.Popen(  # noqa: S603 -- our own command line
                self._command(slot.index, run.port, theirs.fileno()),
                stdin=subprocess.DEVNULL,
                stdout=their_stdout,
                pass_fds=(theirs.fileno(),),
                process_group=0,  # signals reach workers through the supervisor only
            )
        except BaseException:
            ours.close()
            os.close(stdout)
            raise
        finally:
            theirs.close()
            os.close(their_stdout)
        ours.setblocking(False)
        slot.process, slot.link, slot.ready, slot.inbox = process, ours, False, b""
        self._selector.register(ours, selectors.EVENT_READ, slot)
        os.set_blocking(stdout, False)
        pipe = _Pipe(stdout)
        self._pipes.add(pipe)
        self._selector.register(stdout, selectors.EVENT_READ, pipe)
        if run.announced:  # a restart; the start-up line tells of the first start
            _log.info("worker_started", worker=slot.index, pid=process.pid)

    def _hear(self, slot: _Slot, run: _Run) -> None:
        """The worker's report, or the end of its link: it is exiting (the exit status
        is collected by `_step`, which relays its last output meanwhile)."""
        assert slot.link is not None
        try:
            data = slot.link.recv(4_096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._selector.unregister(slot.link)
            slot.link.close()
            slot.link = None
            return
        slot.inbox += data
        while b"\n" in slot.inbox:
            line, _, slot.inbox = slot.inbox.partition(b"\n")
            if line.startswith(READY):
                self._ready(slot, run, line[len(READY) :].decode(errors="replace"))

    def _ready(self, slot: _Slot, run: _Run, wallet: str) -> None:
        assert slot.process is not None
        slot.ready = True
        if run.announced:
            _log.info("worker_ready", worker=slot.index, pid=slot.process.pid)
        elif all(other.ready for other in self._slots):
            run.announced = True
            if not run.stopping:
                self._announce(run.port, wallet)
            self._flush_held(run)

    def _ended(self, slot: _Slot, run: _Run, code: int) -> None:
        process = slot.process
        assert process is not None
        slot.process = None
        exited = {"worker": slot.index, "pid": process.pid, "exit_code": code}
        if run.stopping:
            _log.info("worker_exited", **exited)
            if code != 0 and run.exit_code == _EXIT_OK:
                run.exit_code = _EXIT_FAILED
            return
        _log.error("worker_exited_unexpectedly", **exited)
        failure = self._failure(slot, run, code)
        if failure is None:
            self._start(slot)
            return
        self._warn(failure[1])
        self._stop(run, signal.SIGTERM, failure[0])

    def _failure(self, slot: _Slot, run: _Run, code: int) -> tuple[int, str] | None:
        """Why the supervisor gives up after this exit, or None to restart the worker."""
        how = f"worker {slot.index} {_exit_text(code)}"
        if code == _EXIT_BAD_SETTINGS:
            return _EXIT_BAD_SETTINGS, f"{how}: its settings are invalid, stopping"
        if not run.announced:
            return _EXIT_FAILED, f"{how} before every worker was listening, stopping"
        now_s = time.monotonic()
        while run.restarts_s and now_s - run.restarts_s[0] > RESTART_WINDOW_S:
            run.restarts_s.popleft()
        if len(run.restarts_s) >= self._restarts_max:
            return _EXIT_FAILED, (
                f"{how}: {len(run.restarts_s)} restarts in the last minute already "
                f"(at most {self._restarts_max}), stopping"
            )
        run.restarts_s.append(now_s)
        _log.warning(
            "worker_restarting", worker=slot.index, restarts_last_minute=len(run.restarts_s)
        )
        return None

    # -- output ---------------------------------------------------------------------

    def _relay(self, pipe: _Pipe, run: _Run) -> None:
        try:
            data = os.read(pipe.fd, RELAY_READ_BYTES)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno != errno.EIO:
                raise
            data = b""
        if not data:
            self._selector.unregister(pipe.fd)
            self._pipes.discard(pipe)
            os.close(pipe.fd)
            whole = pipe.partial + b"\n" if pipe.partial else b""
        else:
            cut = data.rfind(b"\n") + 1
            whole = pipe.partial + data[:cut] if cut else b""
            pipe.partial = data[cut:] if cut else pipe.partial + data
        if whole:
            self._emit(whole, run)

    def _emit(self, lines: bytes, run: _Run) -> None:
        run.held_output.append(lines)
        run.held_bytes += len(lines)
        if run.announced or run.stopping or run.held_bytes > HELD_OUTPUT_BYTES_MAX:
            self._flush_held(run)

    def _flush_held(self, run: _Run) -> None:
        held, run.held_output, run.held_bytes = run.held_output, [], 0
        if held:
            self._output(b"".join(held))


def _write_stdout(lines: bytes) -> None:
    sys.stdout.flush()  # what was printed (the start-up line) goes first
    sys.stdout.buffer.write(lines)
    sys.stdout.buffer.flush()


def _exit_text(code: int) -> str:
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


@contextlib.contextmanager
def _signals_to(selector: selectors.BaseSelector) -> Iterator[socket.socket]:
    """SIGTERM, SIGINT and SIGHUP, as their numbers on a socket the selector watches
    (data None)."""
    wake, wake_writer = socket.socketpair()
    wake.setblocking(False)
    wake_writer.setblocking(False)
    caught = (*_STOP_SIGNALS, *_FORWARDED_SIGNALS)
    previous = {number: signal.signal(number, _ignore) for number in caught}
    old_fd = signal.set_wakeup_fd(wake_writer.fileno(), warn_on_full_buffer=False)
    selector.register(wake, selectors.EVENT_READ, None)
    try:
        yield wake
    finally:
        selector.unregister(wake)
        signal.set_wakeup_fd(old_fd)
        for number, handler in previous.items():
            signal.signal(number, handler)
        wake.close()
        wake_writer.close()


def _ignore(number: int, frame: object) -> None:
    """The number reaches the wake-up socket; nothing else to do here."""
