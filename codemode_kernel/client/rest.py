"""The kernels REST API of a Jupyter Server (and of Kernel and Enterprise Gateway), for
`GatewayConnection`: start, look up, interrupt and delete a kernel, with failures turned into
`CodeModeClientError`s that name the URL and say what to fix.

tornado's HTTP client comes with jupyter_client, so reaching a server needs nothing new.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest, HTTPResponse

from .connection import CodeModeClientError

__all__ = ["REQUEST_TIMEOUT", "HTTPStatusError", "KernelsAPI", "http_error", "unreachable"]

#: REST calls other than starting a kernel (which may take the caller's `startup_timeout`).
REQUEST_TIMEOUT = 30.0


class HTTPStatusError(CodeModeClientError):
    """The server answered with an error status (`code`; tornado's 599 for no answer)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class KernelsAPI:
    """`{url}/api/kernels` and `{url}/api/kernelspecs`, sending `headers` (the token) each time."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url = url
        self.headers = headers
        self._http: AsyncHTTPClient | None = None

    def open(self) -> None:
        self._http = AsyncHTTPClient(force_instance=True)  # ours alone, so closing it is safe

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    async def start(self, kernel_name: str, timeout: float) -> str:
        """A new kernel's id. Servers answer an unknown kernelspec with a bare 500 or 404, so a
        failure is checked against the server's kernelspecs to say what is missing."""
        try:
            model = await self.call("POST", "/api/kernels", {"name": kernel_name}, timeout)
        except CodeModeClientError as failed:
            names = await self._kernelspec_names()
            if names is None and isinstance(failed, HTTPStatusError) and failed.code == 404:
                raise CodeModeClientError(
                    f"{failed}: is {self.url} the server's base URL (with its base path)?"
                ) from None
            if names is None or kernel_name in names:
                raise failed from None  # the start's own error is the one to show then
            raise CodeModeClientError(
                f"the Jupyter server at {self.url} has no kernelspec `{kernel_name}` "
                f"(it has: {', '.join(names) or 'none'}); install it there with "
                "`python -m codemode_kernel install`"
            ) from None
        return str(model["id"])

    async def find(self, kernel_id: str) -> None:
        """Succeeds if `kernel_id` runs there."""
        try:
            await self.call("GET", kernel_path(kernel_id))
        except HTTPStatusError as exc:
            if exc.code != 404:
                raise
            raise CodeModeClientError(
                f"no kernel {kernel_id} at {self.url} (HTTP 404): "
                "it may have been shut down or culled"
            ) from None

    async def exists(self, kernel_id: str) -> bool:
        """False only when the server says the kernel is not there; an unreachable server is
        the websocket's to report."""
        try:
            await self.call("GET", kernel_path(kernel_id))
        except HTTPStatusError as exc:
            return exc.code != 404
        except CodeModeClientError:
            return True
        return True

    async def interrupt(self, kernel_id: str) -> None:
        await self.call("POST", f"{kernel_path(kernel_id)}/interrupt", {})

    async def delete(self, kernel_id: str) -> None:
        await self.call("DELETE", kernel_path(kernel_id))

    async def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        timeout: float = REQUEST_TIMEOUT,
    ) -> Any:
        """One call; its JSON answer, or a CodeModeClientError that says why."""
        if self._http is None:
            raise CodeModeClientError(f"the connection to {self.url} is not open")
        request = HTTPRequest(
            self.url + path,
            method=method,
            headers={**self.headers, "Content-Type": "application/json"},
            body=None if body is None else json.dumps(body),
            connect_timeout=min(timeout, REQUEST_TIMEOUT),
            request_timeout=timeout,
        )
        try:
            response: HTTPResponse = await self._http.fetch(request)
        except HTTPClientError as exc:
            raise http_error(self.url, f"{method} {path} on", exc) from None
        except OSError as exc:
            raise unreachable(self.url, exc) from None
        return json.loads(response.body) if response.body else None

    async def _kernelspec_names(self) -> list[str] | None:
        """The server's kernelspec names, or None when it will not say."""
        try:
            specs = await self.call("GET", "/api/kernelspecs")
            return sorted(specs["kernelspecs"])
        except (CodeModeClientError, KeyError, TypeError):
            return None


def kernel_path(kernel_id: str) -> str:
    return f"/api/kernels/{quote(kernel_id, safe='')}"


def unreachable(url: str, exc: OSError) -> CodeModeClientError:
    """Nothing answers at `url`: connection refused, an unknown host."""
    return CodeModeClientError(f"cannot reach the Jupyter server at {url}: {exc}")


def http_error(url: str, doing: str, exc: HTTPClientError) -> HTTPStatusError:
    """What went wrong, in the server's own words where it gave any."""
    code = exc.code
    if code == 599:  # tornado's code for a timeout or a connection that broke
        return HTTPStatusError(code, f"could not {doing} {url}: {exc.message}")
    status = f"HTTP {code} {exc.message or ''}".rstrip()
    if code in (401, 403):
        why = f"the Jupyter server at {url} refused us ({status})"
        return HTTPStatusError(code, f"{why}: is the token right (token=...)?")
    detail = _server_message(exc.response)
    why = f"could not {doing} {url} ({status})"
    return HTTPStatusError(code, f"{why}: {detail}" if detail else why)


def _server_message(response: HTTPResponse | None) -> str:
    """The `message` (or `reason`) of a Jupyter Server JSON error body, if there is one."""
    if response is None or not response.body:
        return ""
    try:
        body = json.loads(response.body)
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    return str(body.get("message") or body.get("reason") or "")
