"""The standard Jupyter kernel conformance suite, against a real kernel process."""

from __future__ import annotations

import jupyter_kernel_test
import pytest

pytestmark = pytest.mark.e2e


class CodeModeKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "codemode"
    language_name = "javascript"
    file_extension = ".js"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("oops")'
    code_generate_error = 'throw new Error("boom")'
    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": "'a' + 'b'", "result": "'ab'"},
        {"code": "({a: 1, b: [1, 2]})", "result": "{ a: 1, b: [ 1, 2 ] }"},
    ]
    code_display_data = [
        {"code": 'text("shown")', "mime": "text/plain"},
        {"code": 'image("data:image/png;base64,iVBORw0KGgo=")', "mime": "image/png"},
        {"code": 'image("data:image/svg+xml;base64,PHN2Zy8+")', "mime": "image/svg+xml"},
    ]
    completion_samples = [
        {"text": "tex", "matches": {"text"}},
        {"text": "yield_c", "matches": {"yield_control"}},
        {"text": "%ter", "matches": {"%terminate"}},
    ]
    complete_code_samples = ['text("hi")', "let x = 1;", "function f() { return 1 }", "%cells"]
    incomplete_code_samples = ["function f() {", "let x = [1,", "if (true) {", "text(`abc"]
    invalid_code_samples = ["}}", "1 = ;", "x y"]
    code_inspect_sample = "store"
    supported_history_operations = ("tail", "range", "search")
    code_history_pattern = "6 * 7"  # a glob: matches the first execute_result sample
