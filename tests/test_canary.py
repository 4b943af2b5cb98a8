"""Canaries: every private hook of mini-racer, ipykernel and nbclient the code relies on.

Each test names one upstream internal, where the code uses it, and the shape it needs. An upgrade
that renames or reshapes one fails here, by name, instead of somewhere deep in a kernel process
(a cell that never starts, a reply that never comes). Public API is left to the other tests.
"""

from __future__ import annotations

import ctypes
import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.unit


def params(func: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(func).parameters)


# -- mini-racer (codemode_kernel/runtime/isolate.py, engine.py) ----------------------------------


def test_mini_racer_reads_its_set_timeout_polyfill_from_a_module_global() -> None:
    """isolate.py replaces `_mini_racer.INSTALL_SET_TIMEOUT` to keep the broken polyfill out."""
    from py_mini_racer import _mini_racer

    assert isinstance(_mini_racer.INSTALL_SET_TIMEOUT, str)
    assert "INSTALL_SET_TIMEOUT" in _mini_racer.MiniRacer.__init__.__code__.co_names


def test_mini_racer_dll_loader_and_callback_type() -> None:
    """isolate.py starts V8 with its own flags and wraps its channel callback itself."""
    from py_mini_racer import _dll

    assert params(_dll.init_mini_racer) == ["flags", "ignore_duplicate_init"]
    assert isinstance(_dll.DEFAULT_V8_FLAGS, tuple)
    assert all(isinstance(flag, str) for flag in _dll.DEFAULT_V8_FLAGS)
    assert callable(_dll.mr_callback_func)


@pytest.mark.parametrize(
    ("name", "argtypes"),
    [
        ("mr_init_context", 1),  # the callback
        ("mr_make_js_callback", 2),  # context id, callback id
        ("mr_set_hard_memory_limit", 2),  # context id, bytes
        ("mr_hard_memory_limit_reached", 1),  # context id
        ("mr_free_context", 1),  # context id
        ("mr_free_value", 2),  # context id, value handle
        ("mr_v8_version", 0),
    ],
)
def test_mini_racer_dll_functions(name: str, argtypes: int) -> None:
    """The C entry points isolate.py and engine.py call directly, with their arity."""
    from codemode_kernel.runtime.isolate import init_v8

    function = getattr(init_v8(), name)
    assert isinstance(function, ctypes._CFuncPtr)
    assert len(function.argtypes or []) == argtypes


def test_mini_racer_context_is_built_from_its_parts() -> None:
    """isolate.py builds `Context(dll, ctx, loop, ObjectFactoryImpl(), ids)` positionally."""
    from py_mini_racer._context import Context, ContextType
    from py_mini_racer._objects import ObjectFactoryImpl

    fields = [f.name for f in dataclasses.fields(Context)][:5]
    assert fields == [
        "_dll",
        "_ctx",
        "event_loop",
        "_object_factory",
        "_next_async_callback_id",
    ]
    assert callable(ContextType) and params(ObjectFactoryImpl) == []


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("eval_cancelable", ["self", "code"]),
        ("call_function_cancelable", ["self", "func", "args", "this"]),
        ("handle_callback_from_v8", ["self", "callback_id", "raw_val_handle"]),
        ("_wrap_raw_handle", ["self", "raw"]),
        ("_value_handle_to_python", ["self", "val_handle"]),
    ],
)
def test_mini_racer_context_methods(method: str, expected: list[str]) -> None:
    """What isolate.py calls on its Context: evaluation, the channel callback, handle wrapping."""
    from py_mini_racer._context import Context

    function = getattr(Context, method)
    assert params(function) == expected
    cancelable = method.endswith("_cancelable")
    assert inspect.iscoroutinefunction(function) is cancelable


# -- ipykernel (codemode_kernel/kernel/kernel.py, app.py) ----------------------------------------


def test_ipykernel_dispatches_shell_messages_through_a_handler_table() -> None:
    """kernel.py wraps every entry of `shell_handlers` (the reply guard, the comm hop); it must
    be the dict dispatch_shell looks handlers up in, filled in `__init__`."""
    from ipykernel.kernelbase import Kernel

    assert "shell_handlers" in inspect.getsource(Kernel.__init__)
    assert "self.shell_handlers.get(msg_type" in inspect.getsource(Kernel.dispatch_shell)
    assert params(Kernel.dispatch_shell)[:2] == ["self", "msg"]


def test_ipykernel_runs_subshell_messages_on_their_own_threads() -> None:
    """The reason for `_on_main_loop`: requests with a subshell_id run off the main thread."""
    from ipykernel.kernelbase import Kernel

    assert "subshell_id" in params(Kernel.shell_main)
    for name in ("create_subshell_request", "delete_subshell_request", "list_subshell_request"):
        assert name in Kernel.control_msg_types
    assert hasattr(Kernel, "_supports_kernel_subshells")


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("_publish_execute_input", ["self", "code", "parent", "execution_count"]),
        ("finish_metadata", ["self", "parent", "metadata", "reply_content"]),
        ("init_metadata", ["self", "parent"]),
        ("kernel_info_request", ["self", "stream", "ident", "parent"]),
        ("interrupt_request", ["self", "stream", "ident", "parent"]),
        ("shutdown_request", ["self", "stream", "ident", "parent"]),
        ("_at_shutdown", ["self"]),
        ("get_parent", ["self", "channel"]),
    ],
)
def test_ipykernel_kernel_methods_the_kernel_overrides_or_calls(
    method: str, expected: list[str]
) -> None:
    from ipykernel.kernelbase import Kernel

    assert params(getattr(Kernel, method)) == expected


def test_ipykernel_execute_request_counts_and_echoes_only_non_silent_requests() -> None:
    """do_execute receives `silent` and leaves the count and execute_input to ipykernel."""
    from ipykernel.kernelbase import Kernel

    source = inspect.getsource(Kernel.execute_request)
    assert "if not silent:" in source and "self.execution_count += 1" in source
    assert "self._publish_execute_input(" in source


def test_ipykernel_traits_and_attributes_the_kernel_sets_or_reads() -> None:
    """`_execute_sleep` (set to 0), `_shutdown_message` (set), the loops `shutdown_request`
    stops, and the comm manager ipykernel.ipkernel wires."""
    from ipykernel.ipkernel import IPythonKernel
    from ipykernel.kernelbase import Kernel

    traits = Kernel.class_traits()
    assert "_execute_sleep" in traits
    for name in ("control_stream", "shell_stream", "iopub_socket", "session"):
        assert name in traits, name
    assert "self.io_loop = " in inspect.getsource(Kernel.start)
    assert "_shutdown_message" in inspect.getsource(Kernel)
    assert "comm_manager" in inspect.getsource(IPythonKernel.__init__)


def test_ipykernel_outstream_tracks_pending_flushes() -> None:
    """app.py skips empty flushes by reading OutStream's `_flush_pending`."""
    from ipykernel.iostream import OutStream

    assert "self._flush_pending = " in inspect.getsource(OutStream)
    assert params(OutStream.flush) == ["self"]


def test_comm_manager_handlers() -> None:
    """kernel.py installs the comm manager's handlers as (stream, ident, msg) shell handlers."""
    from comm.base_comm import CommManager

    for name in ("comm_open", "comm_msg", "comm_close"):
        assert params(getattr(CommManager, name)) == ["self", "stream", "ident", "msg"]
    assert params(CommManager.register_target)[:3] == ["self", "target_name", "f"]


# -- nbclient (codemode_kernel/client/nbclient.py) -----------------------------------------------


def test_nbclient_polls_output_through_a_private_coroutine() -> None:
    """nbclient.py overrides `_async_poll_output_msg` to see its comm's messages whatever their
    parent, and `process_message` for those parented to the running cell."""
    from nbclient import NotebookClient

    poll = NotebookClient._async_poll_output_msg
    assert inspect.iscoroutinefunction(poll)
    assert params(poll) == ["self", "parent_msg_id", "cell", "cell_index"]
    assert "self._async_poll_output_msg(" in inspect.getsource(NotebookClient)
    assert params(NotebookClient.process_message) == ["self", "msg", "cell", "cell_index"]


def test_nbclient_setup_kernel_and_completion_signal() -> None:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionComplete

    assert params(NotebookClient.async_setup_kernel) == ["self", "kwargs"]
    assert issubclass(CellExecutionComplete, Exception)
    assert "raise CellExecutionComplete" in inspect.getsource(NotebookClient.process_message)


def test_the_kernel_class_takes_what_enterprise_gateways_launcher_passes() -> None:
    """EG's launch_ipykernel.py builds `IPKernelApp.instance(kernel_class=…, user_ns=…)`."""
    import signal
    import warnings

    from codemode_kernel.kernel.kernel import CodeModeKernel

    handler = signal.getsignal(signal.SIGTERM)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kernel = CodeModeKernel(user_ns={"x": 1})
    try:
        assert kernel.implementation == "codemode"
    finally:
        kernel.engine.shutdown()
        signal.signal(signal.SIGTERM, handler)
