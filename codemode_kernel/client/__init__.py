"""Clients: the asyncio agent client (`client`) over a transport (`connection`; `gateway` and
`rest` for a kernel behind a Jupyter Server), the requests it sends (`requests`), routing by
parent msg_id (`routing`), Python tools and MCP servers answering the cells' calls (`toolrunner`,
`mcp`), results and model-facing text (`results`), and the nbclient runner (`nbclient`)."""

from .callbacks import EventCallback, InputCallback, NotifyCallback
from .client import CodeModeClient, CodeModeClientError
from .connection import Connection, ZmqConnection
from .gateway import GatewayConnection
from .results import ExecResult, Notification

__all__ = [
    "CodeModeClient",
    "CodeModeClientError",
    "Connection",
    "EventCallback",
    "ExecResult",
    "GatewayConnection",
    "InputCallback",
    "Notification",
    "NotifyCallback",
    "ZmqConnection",
]
