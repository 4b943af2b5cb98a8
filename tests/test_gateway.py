"""`CodeModeClient.connect_gateway` against real servers started here on 127.0.0.1: JupyterLab's
`jupyter server` and `jupyter kernelgateway`, each once per module, each finding the `codemode`
kernelspec through conftest's JUPYTER_PATH. Cells, tool calls over the comm, yield/wait/terminate,
images, interrupts, attaching by kernel id, restarts and deletes, a dropped websocket, idle culling
(on a third, culling server), and the errors."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from clientkit import PROBE, TOOLS, Loop, header, run, texts

from codemode_kernel.client import CodeModeClient, CodeModeClientError
from codemode_kernel.output.items import ImageItem, TextItem

pytestmark = pytest.mark.e2e

TOKEN = "codemode-gateway-test-token"
PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwA"
    "FBQIAX8jx0gAAAABJRU5ErkJggg=="
)


@dataclass
class Server:
    """A Jupyter Server API on 127.0.0.1, and a way to call its REST API from the test thread."""

    kind: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def rest(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        data = json.dumps(body or {}).encode() if method == "POST" else None
        request = urllib.request.Request(
            self.url + path, data, {"Authorization": f"token {TOKEN}"}, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                body = response.read()
                return response.status, json.loads(body) if body else None
        except urllib.error.HTTPError as exc:
            return exc.code, None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # both servers shut their kernels down on it
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        shutil.rmtree(self.log.parent, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: Enterprise Gateway 3.x needs older jupyter_client/jupyter_server than this package, so it runs
#: from its own environment (`make test` builds .venv-eg), as it is deployed for real.
EG_PYTHON = Path(
    os.environ.get(
        "CODEMODE_EG_PYTHON", Path(__file__).resolve().parents[1] / ".venv-eg/bin/python"
    )
)


def _argv(kind: str, port: int, root: str) -> list[str]:
    if kind == "jupyter-server":
        argv = [sys.executable, "-m", "jupyter_server", f"--ServerApp.port={port}"]
        argv += ["--ServerApp.ip=127.0.0.1", "--ServerApp.port_retries=0", "--no-browser"]
        argv += [f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}"]
        return argv + (["--allow-root"] if os.geteuid() == 0 else [])
    if kind == "enterprise-gateway":
        argv = [str(EG_PYTHON), "-m", "enterprise_gateway", f"--EnterpriseGatewayApp.port={port}"]
        argv += ["--EnterpriseGatewayApp.ip=127.0.0.1", "--EnterpriseGatewayApp.port_retries=0"]
        argv += [f"--EnterpriseGatewayApp.auth_token={TOKEN}"]
        # It refuses kernels for root unless told otherwise, and lists them only when asked.
        argv += ["--EnterpriseGatewayApp.unauthorized_users=set()"]
        return [*argv, "--EnterpriseGatewayApp.list_kernels=True"]
    argv = [sys.executable, "-m", "kernel_gateway", f"--KernelGatewayApp.port={port}"]
    argv += ["--KernelGatewayApp.ip=127.0.0.1", "--KernelGatewayApp.port_retries=0"]
    argv += [f"--KernelGatewayApp.auth_token={TOKEN}"]
    return [*argv, "--JupyterWebsocketPersonality.list_kernels=True"]


def start_server(kind: str, *options: str, timeout: float = 90.0) -> Server:
    """Start a server and return once its REST API answers (or fail with its log)."""
    root = tempfile.mkdtemp(prefix=f"codemode-{kind}-")
    port = _free_port()
    log = Path(root) / "server.log"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(Path(root) / "runtime")}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*_argv(kind, port, root), *options],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=root,
            env=env,
        )
    server = Server(kind, f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if server.rest("GET", "/api/kernelspecs")[0] == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    output = log.read_text(errors="replace")[-3000:]
    server.stop()
    raise RuntimeError(f"{kind} did not come up:\n{output}")


@pytest.fixture(scope="module", params=["jupyter-server", "kernel-gateway", "enterprise-gateway"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    if request.param == "enterprise-gateway" and not EG_PYTHON.exists():
        pytest.skip(f"no Enterprise Gateway environment at {EG_PYTHON} (make test builds it)")
    started = start_server(request.param)
    yield started
    started.stop()


@pytest.fixture(scope="module")
def gw(loop: Loop, server: Server) -> Iterator[CodeModeClient]:
    """One client through the server for the tests that only run cells."""
    client = loop.run(open_gateway(server), timeout=90)
    yield client
    loop.run(client.close())


@pytest.fixture(autouse=True)
def fresh_probe() -> None:
    PROBE.__init__()  # type: ignore[misc]


async def open_gateway(server: Server, url: str = "", **options: Any) -> CodeModeClient:
    options = {"token": TOKEN, "tools": TOOLS, **options}
    return await CodeModeClient.connect_gateway(url or server.url, **options).open()


def raises(loop: Loop, server: Server, **options: Any) -> str:
    """The CodeModeClientError that opening a client with `options` fails with."""
    with pytest.raises(CodeModeClientError) as failed:
        loop.run(open_gateway(server, **options), timeout=90)
    return str(failed.value)


def kernel_ids(server: Server) -> set[str]:
    status, kernels = server.rest("GET", "/api/kernels")
    assert status == 200
    return {k["id"] for k in kernels}


def kernel_id(client: CodeModeClient) -> str:
    return str(getattr(client.connection, "kernel_id", ""))


# --- cells through the websocket -----------------------------------------------------------


def test_a_cell_with_a_tool_call_answered_by_the_client(loop: Loop, gw: CodeModeClient) -> None:
    r = run(loop, gw, 'text("shown"); console.log("out");\n({sum: await tools.add({a: 2, b: 40})})')
    assert r.status == "completed" and not r.request_error
    assert r.items == [TextItem("shown"), TextItem("out", "stdout"), TextItem("{ sum: 42 }")]
    assert r.result == {"sum": 42}
    assert r.to_model_output() == [
        header(r, "Script completed"),
        *texts("shown", "out", "{ sum: 42 }"),
    ]
    shouted = run(loop, gw, 'await tools.shout("quiet")')
    assert shouted.result == "QUIET"


def test_yield_wait_and_terminate(loop: Loop, gw: CodeModeClient) -> None:
    r = run(
        loop,
        gw,
        'text("one");\nawait new Promise(r => setTimeout(r, 400)); text("two")',
        yield_time_ms=50,
    )
    cid = str(r.cell_id)
    assert r.status == "running" and r.items == [TextItem("one")]
    assert r.to_model_output() == [header(r, f"Script running with cell ID {cid}"), *texts("one")]
    done = loop.run(gw.wait(cid))
    assert done.status == "completed" and done.items == [TextItem("two")]

    spinning = run(loop, gw, 'text("x"); while (true) {}', yield_time_ms=50)
    assert spinning.status == "running"
    stopped = loop.run(gw.terminate(str(spinning.cell_id)))
    assert stopped.status == "terminated"
    assert stopped.to_model_output() == [header(stopped, "Script terminated")]


def test_an_image_arrives_as_a_data_url(loop: Loop, gw: CodeModeClient) -> None:
    r = run(loop, gw, f'text("a"); image("{PNG}", "low"); text("b")')
    assert r.items == [TextItem("a"), ImageItem(PNG, "low"), TextItem("b")]
    assert r.to_model_output()[2] == {"type": "input_image", "image_url": PNG, "detail": "low"}


def test_interrupt_through_the_rest_api_ends_the_observed_cell(
    loop: Loop, gw: CodeModeClient
) -> None:
    async def interrupted() -> Any:
        cell = gw.exec('await tools.sleepy({label: "spin", seconds: 0});\nwhile (true) {}')
        pending = asyncio.ensure_future(cell)
        while "spin" not in PROBE.started:  # the cell is past its tool call: it spins now
            await _tick()
        started = time.monotonic()
        await gw.interrupt()
        return await pending, time.monotonic() - started

    result, took = loop.run(interrupted())
    assert result.status == "terminated" and took < 10
    assert run(loop, gw, "1 + 1").result == 2  # the kernel lives on


def test_interrupt_over_zmq_too(loop: Loop, client: CodeModeClient) -> None:
    """A kernel we started is interrupted by its manager, an attached one on its control channel."""
    assert client.km is not None
    attached = loop.run(CodeModeClient.connect(client.km.connection_file, TOOLS).open())
    try:
        for each in (client, attached):

            async def interrupted(c: CodeModeClient = each) -> Any:
                pending = asyncio.ensure_future(
                    c.exec('await tools.sleepy({label: "zmq", seconds: 0});\nwhile (true) {}')
                )
                while "zmq" not in PROBE.started:
                    await _tick()
                await c.interrupt()
                return await pending

            assert loop.run(interrupted()).status == "terminated"
            PROBE.started.clear()
    finally:
        loop.run(attached.close())


# --- kernels: attach, lifetime, restart, a dropped socket ----------------------------------


def test_attach_by_kernel_id_leaves_the_kernel_running(
    loop: Loop, gw: CodeModeClient, server: Server
) -> None:
    kid = kernel_id(gw)
    second = loop.run(open_gateway(server, kernel_id=kid, tools=[_double]), timeout=90)
    try:
        r = run(loop, second, "await tools._double({x: 21})")
        assert r.result == 42
        assert run(loop, gw, "await tools.add({a: 1, b: 1})").result == 2  # the first still works
    finally:
        loop.run(second.close())
    assert kid in kernel_ids(server)
    assert run(loop, gw, "3").result == 3


def test_a_prompt_is_answered_over_the_websocket(
    loop: Loop, gw: CodeModeClient, server: Server
) -> None:
    kid = kernel_id(gw)
    asking = loop.run(
        open_gateway(server, kernel_id=kid, on_input=lambda message, _: message.upper()),
        timeout=90,
    )
    try:
        assert run(loop, asking, 'await prompt("over stdin")').result == "OVER STDIN"
    finally:
        loop.run(asking.close())


def test_agents_side_by_side_each_with_its_own_kernel_lose_nothing(
    loop: Loop, server: Server
) -> None:
    """The load benchmark's correctness, small: concurrent agents through one server."""

    async def agent(index: int) -> list[object]:
        def scale(x: int) -> int:
            """Multiply by this agent's factor."""
            return x * (index + 2)

        async with CodeModeClient.connect_gateway(server.url, token=TOKEN, tools=[scale]) as c:
            return [(await c.exec(f"await tools.scale({{x: {n}}})")).result for n in range(3)]

    async def agents() -> list[list[object]]:
        return list(await asyncio.gather(*(agent(i) for i in range(3))))

    assert loop.run(agents(), timeout=120) == [[n * (i + 2) for n in range(3)] for i in range(3)]


def test_a_dropped_websocket_fails_what_was_waiting_and_reconnects(
    loop: Loop, server: Server
) -> None:
    """The socket goes, the kernel stays: the request in flight fails, the next ones work on
    the same kernel (its store, and our tools over the comm opened before)."""
    client = loop.run(open_gateway(server), timeout=90)
    try:
        assert run(loop, client, 'store("kept", 5)').status == "completed"

        async def dropped() -> str:
            waiting = asyncio.ensure_future(
                client.exec("await new Promise(r => setTimeout(r, 1500)); 1")
            )
            await asyncio.sleep(0.3)
            client.connection._ws.close()  # type: ignore[attr-defined]  # as a network drop would
            with pytest.raises(CodeModeClientError) as failed:
                await waiting
            return str(failed.value)

        assert server.url in loop.run(dropped(), timeout=60)
        deadline = time.monotonic() + 30
        while True:  # the reconnect takes a moment; until then requests fail fast
            try:
                again = run(loop, client, 'load("kept") + await tools.add({a: 1, b: 1})')
                break
            except CodeModeClientError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert again.result == 7
    finally:
        loop.run(client.close())


def test_close_deletes_only_a_kernel_it_started(loop: Loop, server: Server) -> None:
    auth = {"Authorization": f"token {TOKEN}"}  # `headers` reach REST and the websocket alike
    client = loop.run(open_gateway(server, token=None, headers=auth), timeout=90)
    kid = kernel_id(client)
    assert kid in kernel_ids(server)
    loop.run(client.close())
    assert kid not in kernel_ids(server)


def test_a_restart_ends_the_cells_and_the_client_says_why(loop: Loop, server: Server) -> None:
    client = loop.run(open_gateway(server), timeout=90)
    try:
        pending = loop.run(_background(client, "long"))
        assert server.rest("POST", f"/api/kernels/{kernel_id(client)}/restart")[0] == 200
        assert loop.run(_result(pending), timeout=60).status == "terminated"
        with pytest.raises(CodeModeClientError, match="was restarted"):
            loop.run(_until_dead(client), timeout=60)
    finally:
        loop.run(client.close())


def test_a_dropped_websocket_fails_what_is_in_flight() -> None:
    """A server killed outright: the request in flight fails, naming the URL, and so do new ones."""
    local = Loop()
    server = start_server("kernel-gateway")
    try:
        client = local.run(open_gateway(server), timeout=90)
        pending = local.run(_background(client, "long"))
        server.process.kill()
        with pytest.raises(CodeModeClientError, match=f"websocket .* at {server.url} closed"):
            local.run(_result(pending), timeout=30)
        with pytest.raises(CodeModeClientError, match="closed"):
            run(local, client, "1")
        local.run(client.close())  # the DELETE cannot reach anyone: closing still finishes
    finally:
        server.stop()
        local.close()


# --- idle culling ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def culling() -> Iterator[Server]:
    """A Jupyter Server that culls kernels idle for 2 s, checking every second."""
    cull = ["--MappingKernelManager.cull_idle_timeout=2", "--MappingKernelManager.cull_interval=1"]
    started = start_server("jupyter-server", *cull)
    yield started
    started.stop()


def _after_a_cull(server: Server) -> None:
    """Block until the culler has culled a kernel started now: it has then looked at every
    kernel that has been idle longer."""
    status, witness = server.rest("POST", "/api/kernels", {"name": "codemode"})
    assert status == 201
    deadline = time.monotonic() + 60
    while witness["id"] in kernel_ids(server):
        assert time.monotonic() < deadline, "the culler never culled an idle kernel"
        time.sleep(0.2)


def test_a_connected_kernel_is_not_culled(loop: Loop, culling: Server) -> None:
    """The default `cull_connected=False`: while the client is connected, a kernel whose cell
    runs in the background is safe although it reports idle."""
    client = loop.run(open_gateway(culling), timeout=90)
    try:
        r = run(loop, client, "yield_control(); await new Promise(r => setTimeout(r, 60000))")
        assert r.status == "running"
        _after_a_cull(culling)
        assert kernel_id(client) in kernel_ids(culling)
        assert loop.run(client.terminate(str(r.cell_id))).status == "terminated"
    finally:
        loop.run(client.close())


def test_a_background_cell_keeps_its_kernel_from_being_culled(loop: Loop, culling: Server) -> None:
    status, model = culling.rest("POST", "/api/kernels", {"name": "codemode"})
    assert status == 201
    client = loop.run(open_gateway(culling, kernel_id=model["id"]), timeout=90)
    try:
        r = run(loop, client, "yield_control(); await new Promise(r => setTimeout(r, 60000))")
        assert r.status == "running"
    finally:
        loop.run(client.close())  # the kernel stays, with its cell running and nobody connected
    _after_a_cull(culling)
    try:
        assert model["id"] in kernel_ids(culling)
    finally:
        culling.rest("DELETE", f"/api/kernels/{model['id']}")


# --- errors that say what is wrong ---------------------------------------------------------


def test_a_bad_token_names_the_refusal(loop: Loop, server: Server) -> None:
    message = raises(loop, server, token="wrong")
    assert server.url in message and ("HTTP 403" in message or "HTTP 401" in message)
    assert "token" in message


def test_a_wrong_port_or_path(loop: Loop, server: Server) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(CodeModeClientError, match=f"cannot reach the Jupyter server at {url}"):
        loop.run(CodeModeClient.connect_gateway(url, token=TOKEN).open())
    message = raises(loop, server, url=f"{server.url}/not/the/base")
    assert message.endswith(
        f"is {server.url}/not/the/base the server's base URL (with its base path)?"
    )
    with pytest.raises(ValueError, match="http:// or https://"):
        CodeModeClient.connect_gateway(url.replace("http", "ws"))


def test_an_unknown_kernelspec_names_what_there_is(loop: Loop, server: Server) -> None:
    message = raises(loop, server, kernel_name="no-such-kernel")
    assert message.startswith(f"the Jupyter server at {server.url} has no kernelspec")
    assert "`no-such-kernel`" in message and "codemode" in message


def test_an_unknown_kernel_id(loop: Loop, server: Server) -> None:
    message = raises(loop, server, kernel_id="00000000-0000-0000-0000-000000000000")
    assert f"at {server.url}" in message and "HTTP 404" in message


# --- helpers --------------------------------------------------------------------------------


def _double(x: float) -> float:
    """Twice x (a tool only the second client has)."""
    return 2 * x


async def _tick(seconds: float = 0.02) -> None:
    await asyncio.sleep(seconds)


LONG_CELL = (
    "await tools.sleepy({label: %s, seconds: 0});\nawait new Promise(r => setTimeout(r, 60000))"
)


async def _background(client: CodeModeClient, label: str) -> asyncio.Task[Any]:
    """A long cell's exec as a task on the client's loop, once the cell is past its tool call."""
    task = asyncio.ensure_future(client.exec(LONG_CELL % json.dumps(label)))
    while label not in PROBE.started and not task.done():
        await _tick()
    return task


async def _result(task: asyncio.Task[Any]) -> Any:
    return await task


async def _until_dead(client: CodeModeClient) -> None:
    """Cells keep being sent until the client reports the kernel gone (its first status does)."""
    while True:
        await client.exec("1")
        await _tick(0.2)


def test_a_kernel_deleted_by_someone_else(loop: Loop, server: Server) -> None:
    """Culled, or shut down from JupyterLab: the running cell ends and the client says so."""
    client = loop.run(open_gateway(server), timeout=90)
    try:
        pending = loop.run(_background(client, "deleted"))
        assert server.rest("DELETE", f"/api/kernels/{kernel_id(client)}")[0] == 204
        assert loop.run(_result(pending), timeout=60).status == "terminated"
        with pytest.raises(CodeModeClientError, match=f"at {server.url} was shut down"):
            loop.run(_until_dead(client), timeout=60)
    finally:
        loop.run(client.close())


def test_subshell_traffic_passes_through_the_websocket(loop: Loop, server: Server) -> None:
    """JupyterLab >= 4.4 sends comm traffic on subshells: a `subshell_id` header must survive
    the server's websocket. A subshell answers while the main shell is busy with a cell."""
    from jupyter_client.session import Session as JupyterSession
    from tornado.websocket import websocket_connect

    status, model = server.rest("POST", "/api/kernels", {"name": "codemode"})
    assert status == 201
    session = JupyterSession()
    url = server.url.replace("http", "ws", 1) + f"/api/kernels/{model['id']}/channels"

    async def scenario() -> list[str]:
        ws = await websocket_connect(f"{url}?session_id={session.session}&token={TOKEN}")

        def send(channel: str, msg_type: str, content: dict[str, Any], **header: Any) -> str:
            msg = session.msg(msg_type, content)
            msg["header"].update(header)
            ws.write_message(json.dumps({**msg, "channel": channel}, default=str))
            return str(msg["header"]["msg_id"])

        async def reply_to(msg_id: str) -> dict[str, Any]:
            while True:
                raw = await ws.read_message()
                assert raw is not None, "the websocket closed"
                msg = json.loads(raw)
                if msg["parent_header"].get("msg_id") == msg_id and msg["channel"] != "iopub":
                    return dict(msg)

        await reply_to(send("shell", "kernel_info_request", {}))
        created = await reply_to(send("control", "create_subshell_request", {}))
        subshell = created["content"]["subshell_id"]
        busy = send(
            "shell", "execute_request", {"code": "await new Promise(r => setTimeout(r, 2000))"}
        )
        asked = send("shell", "kernel_info_request", {}, subshell_id=subshell)
        order = []
        while len(order) < 2:
            raw = await ws.read_message()
            assert raw is not None, "the websocket closed"
            msg = json.loads(raw)
            if msg["channel"] == "shell" and msg["parent_header"].get("msg_id") in (busy, asked):
                order.append(msg["msg_type"])
        ws.close()
        return order

    try:
        # The subshell answered while the main shell was still running the cell.
        assert loop.run(scenario(), timeout=60) == ["kernel_info_reply", "execute_reply"]
    finally:
        server.rest("DELETE", f"/api/kernels/{model['id']}")
