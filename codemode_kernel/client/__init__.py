"""Clients: the asyncio agent client (`client`), its results and model-facing text (`results`),
the tool runner, and the nbclient runner (`nbclient`)."""

from .client import CodeModeClient, CodeModeClientError
from .results import ExecResult, Notification

__all__ = ["CodeModeClient", "CodeModeClientError", "ExecResult", "Notification"]
