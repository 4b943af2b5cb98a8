"""The protocol floor: an ipykernel kernel that does nothing but answer.

Each execute request publishes one stream line and replies, like a trivial cell would, so what it
costs is exactly what every ipykernel-based kernel pays before running any code: message
parsing, signing, the shell and IOPub sockets, busy/idle status. `benches/peers.py` runs it beside
the real kernels; a codemode cell cannot be cheaper than this without a cheaper protocol path.

Each `comm_msg` is answered with one `comm_msg` carrying its data back on IOPub: one shell message
in, then busy, the answer and idle out, the same messages as the answer to one nested tool call.
`benches/roundtrip.py` measures that as the floor of a tool call round trip.

Run as a kernel: `python benches/echo_kernel.py -f {connection_file}`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ipykernel.kernelapp import IPKernelApp
from ipykernel.kernelbase import Kernel


class EchoKernel(Kernel):
    implementation = "echo"
    implementation_version = "1.0"
    language_info: ClassVar[dict[str, str]] = {
        "name": "text",
        "mimetype": "text/plain",
        "file_extension": ".txt",
    }
    banner = "echo: the protocol floor"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shell_handlers["comm_msg"] = self.echo_comm

    def echo_comm(self, stream: Any, ident: Any, parent: dict[str, Any]) -> None:
        self.send_response(self.iopub_socket, "comm_msg", parent["content"])

    async def do_execute(  # type: ignore[override]
        self,
        code: str,
        silent: bool,
        store_history: bool = True,
        user_expressions: Any = None,
        allow_stdin: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        if not silent:
            self.send_response(self.iopub_socket, "stream", {"name": "stdout", "text": "bench\n"})
        return {
            "status": "ok",
            "execution_count": self.execution_count,
            "payload": [],
            "user_expressions": {},
        }


if __name__ == "__main__":
    IPKernelApp.launch_instance(kernel_class=EchoKernel)
