"""Shared by the benchmarks: the reference's number formats, percentiles, the targets table, and a
real kernel process driven over ZMQ with exact timestamps.

`tests/driver.py` polls its sockets every 10 ms, which is fine for tests but would swamp a 3 ms
round trip; `LiveKernel` instead waits on shell and IOPub together with one `zmq.Poller` and
stamps each message the moment its socket becomes readable.
"""

from __future__ import annotations

import atexit
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import zmq
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

Message = dict[str, Any]
IopubHook = Callable[[Message], None]

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB

# -- the reference's formats -----------------------------------------------------------------


def format_duration(nanos: float) -> str:
    """`ns` / `us` / `ms` / `s` with 2 decimals, exactly as the reference prints durations.

    Differences of two timings can be negative; they keep their sign."""
    if nanos < 0:
        return "-" + format_duration(-nanos)
    if nanos >= 1e9:
        return f"{nanos / 1e9:.2f}s"
    if nanos >= 1e6:
        return f"{nanos / 1e6:.2f}ms"
    if nanos >= 1e3:
        return f"{nanos / 1e3:.2f}us"
    return f"{int(nanos)}ns"


def format_seconds(seconds: float) -> str:
    return format_duration(seconds * 1e9)


def format_bytes(count: float) -> str:
    """`B` / `KiB` / `MiB` / `GiB` with 2 decimals (negative deltas keep their sign)."""
    sign, count = ("-", -count) if count < 0 else ("", count)
    if count >= GIB:
        return f"{sign}{count / GIB:.2f}GiB"
    if count >= MIB:
        return f"{sign}{count / MIB:.2f}MiB"
    if count >= KIB:
        return f"{sign}{count / KIB:.2f}KiB"
    return f"{sign}{int(count)}B"


def percentile(values: Sequence[float], p: int) -> float:
    """The reference's percentile: index floor((n - 1) * p / 100) of the sorted values."""
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) * p // 100]


def spread(values: Sequence[float], fmt: Callable[[float], str] = format_seconds) -> str:
    """`median (p10-p90)` of a sample."""
    med = statistics.median(values)
    return f"{fmt(med)} ({fmt(percentile(values, 10))}-{fmt(percentile(values, 90))})"


# -- targets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One issue target: what we measured (None = could not be measured) against a ceiling."""

    name: str
    ours: float | None
    ceiling: float
    fmt: Callable[[float], str]

    @property
    def verdict(self) -> str:
        if self.ours is None:
            return "n/a"
        return "MET" if self.ours <= self.ceiling else "NOT MET"


def print_targets(targets: Sequence[Target]) -> None:
    width = max(len(t.name) for t in targets)
    print(f"{'target':<{width}}  {'ours':>12}  {'goal':>12}  verdict")
    for t in targets:
        ours = "n/a" if t.ours is None else t.fmt(t.ours)
        print(f"{t.name:<{width}}  {ours:>12}  {'≤ ' + t.fmt(t.ceiling):>12}  {t.verdict}")


def ratio(value: float) -> str:
    return f"{value:.2f}x"


def heading(text: str) -> None:
    print(f"\n== {text} ==")


def machine() -> str:
    """CPU count and load: timings on a busy 2-core machine say as much about it as about us."""
    one, five, fifteen = os.getloadavg()
    return f"machine: {os.cpu_count()} CPUs, load average {one:.2f} {five:.2f} {fifteen:.2f}"


# -- real kernels ------------------------------------------------------------------------------


def use_this_checkout_kernelspec() -> None:
    """Point Jupyter at a private `codemode` kernelspec pinned to this interpreter and checkout.

    Like `tests/conftest.py`: nothing outside a temporary prefix is written, and whatever
    `codemode` kernel the machine may have installed is shadowed (JUPYTER_PATH comes first).
    """
    if os.environ.get("CODEMODE_BENCH_JUPYTER_PATH"):
        return
    from codemode_kernel.install import install

    prefix = Path(tempfile.mkdtemp(prefix="codemode-bench-"))
    atexit.register(shutil.rmtree, prefix, ignore_errors=True)
    install(prefix=str(prefix))
    data = str(prefix / "share" / "jupyter")
    os.environ["CODEMODE_BENCH_JUPYTER_PATH"] = data
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (data, os.environ.get("JUPYTER_PATH", "")) if p
    )


def _kernel_env() -> dict[str, str]:
    """The same environment for every kernel; IPython's history goes to a throwaway dir."""
    ipython_dir = tempfile.mkdtemp(prefix="codemode-bench-ipython-")
    atexit.register(shutil.rmtree, ipython_dir, ignore_errors=True)
    return {**os.environ, "IPYTHONDIR": ipython_dir}


@dataclass
class Exchange:
    """One request: seconds from sending it to its reply and to its `status: idle`."""

    reply_s: float
    idle_s: float
    reply: Message
    outputs: list[Message] = field(default_factory=list)  # parented IOPub, minus status/input

    @property
    def codemode(self) -> dict[str, Any]:
        return dict(self.reply["metadata"].get("codemode", {}))

    def texts(self) -> list[str]:
        out = []
        for m in self.outputs:
            c = m["content"]
            if m["msg_type"] == "stream":
                out.append(c["text"])
            elif m["msg_type"] in ("display_data", "execute_result"):
                out.append(c["data"].get("text/plain", ""))
        return out


class LiveKernel:
    """A kernel process plus a blocking client with precise request timing."""

    def __init__(self, name: str, km: KernelManager, kc: BlockingKernelClient, startup_s: float):
        self.name, self.km, self.kc, self.startup_s = name, km, kc, startup_s
        self._log: IO[bytes] | None = None  # the kernel's stderr, kept until it stops
        self._poller = zmq.Poller()
        self._shell = kc.shell_channel
        self._iopub = kc.iopub_channel
        self._poller.register(self._shell.socket, zmq.POLLIN)
        self._poller.register(self._iopub.socket, zmq.POLLIN)

    @classmethod
    def start(cls, name: str, timeout: float = 60) -> LiveKernel:
        """Start a kernel; `startup_s` runs from `start_kernel()` to the first kernel_info_reply."""
        km = KernelManager(kernel_name=name)
        # The kernel writes its stderr here for as long as it lives; closed in `stop()`.
        log = tempfile.NamedTemporaryFile(prefix=f"codemode-bench-{name}-")  # noqa: SIM115
        began = time.perf_counter()
        km.start_kernel(env=_kernel_env(), stdout=subprocess.DEVNULL, stderr=log)
        kc = km.client()
        kc.start_channels(stdin=False, hb=False)
        sent = {kc.kernel_info()}
        resend = began + 1.0
        while True:
            now = time.perf_counter()
            if now - began > timeout or not km.is_alive():
                km.shutdown_kernel(now=True)
                stderr = Path(log.name).read_text(errors="replace")[-2000:]
                raise RuntimeError(f"kernel {name} did not answer kernel_info; stderr:\n{stderr}")
            if kc.shell_channel.socket.poll(10):
                stamp = time.perf_counter()
                if kc.shell_channel.get_msg(timeout=0)["parent_header"].get("msg_id") in sent:
                    break
            elif now > resend:  # a request sent before the kernel bound its socket may be lost
                sent.add(kc.kernel_info())
                resend = now + 1.0
        kernel = cls(name, km, kc, stamp - began)
        kernel._log = log
        kernel._settle_iopub()
        return kernel

    def _settle_iopub(self) -> None:
        """Wait until IOPub delivers (a SUB socket drops what arrives before it subscribes)."""
        for _ in range(20):
            try:
                self.request(self.kc.session.msg("kernel_info_request"), timeout=0.5)
                return
            except TimeoutError:
                continue
        raise RuntimeError(f"kernel {self.name}: IOPub never delivered")

    @property
    def pid(self) -> int:
        """The kernel process (jupyter_client's local provisioner launched it directly)."""
        process = getattr(self.km.provisioner, "process", None)
        if process is None:
            raise RuntimeError(f"kernel {self.name} has no local process")
        return int(process.pid)

    def rss_bytes(self) -> int:
        """The kernel process's resident set (VmRSS in /proc/<pid>/status)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * KIB
        raise RuntimeError("no VmRSS line")

    def send_shell(self, msg_type: str, content: dict[str, Any]) -> Message:
        msg: Message = self.kc.session.msg(msg_type, content)
        self._shell.send(msg)
        return msg

    def execute(
        self, code: str, on_iopub: IopubHook | None = None, timeout: float = 60
    ) -> Exchange:
        content = {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        }
        return self.request(self.kc.session.msg("execute_request", content), on_iopub, timeout)

    def request(
        self, msg: Message, on_iopub: IopubHook | None = None, timeout: float = 60
    ) -> Exchange:
        """Send a shell request; return when both its reply and its `status: idle` are in.

        `on_iopub` sees every IOPub message that arrives meanwhile (tool calls are answered
        from there, while the request is still running).
        """
        msg_id = msg["header"]["msg_id"]
        reply: Message | None = None
        reply_at = idle_at = 0.0
        outputs: list[Message] = []
        began = time.perf_counter()
        self._shell.send(msg)
        deadline = began + timeout
        while reply is None or not idle_at:
            left_ms = int((deadline - time.perf_counter()) * 1000)
            if left_ms <= 0:
                raise TimeoutError(f"{self.name}: no reply/idle for {msg['msg_type']}")
            ready = dict(self._poller.poll(left_ms))
            stamp = time.perf_counter()
            if self._shell.socket in ready:
                while self._shell.msg_ready():
                    m = self._shell.get_msg(timeout=0)
                    if m["parent_header"].get("msg_id") == msg_id:
                        reply, reply_at = m, stamp
            if self._iopub.socket in ready:
                while self._iopub.msg_ready():
                    m = self._iopub.get_msg(timeout=0)
                    if on_iopub is not None:
                        on_iopub(m)
                    if m["parent_header"].get("msg_id") != msg_id:
                        continue
                    if m["msg_type"] == "status":
                        if m["content"]["execution_state"] == "idle":
                            idle_at = stamp
                    elif m["msg_type"] != "execute_input":
                        outputs.append(m)
        return Exchange(reply_at - began, idle_at - began, reply, outputs)

    def drain_iopub(self, on_iopub: IopubHook, until: Callable[[], bool], timeout: float) -> bool:
        """Feed IOPub messages to `on_iopub` until `until()` holds or `timeout` passes."""
        deadline = time.perf_counter() + timeout
        while not until():
            left_ms = int((deadline - time.perf_counter()) * 1000)
            if left_ms <= 0:
                return False
            if self._iopub.socket.poll(left_ms):
                while self._iopub.msg_ready():
                    on_iopub(self._iopub.get_msg(timeout=0))
        return True

    def stop(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)
        if self._log is not None:
            self._log.close()
