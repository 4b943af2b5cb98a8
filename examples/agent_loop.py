"""An agent loop over the codemode kernel, runnable offline: `python examples/agent_loop.py`.

A real agent gives its model two tools, `exec` and `wait` (their descriptions come from
`client.describe()`), runs each call on the kernel and hands back `result.to_model_output()`,
the reference's content items. Here the "model" is a small rule-based policy, so the example
runs without a network or an LLM, but the loop, the tools and every output are real:

* two Python tools the cells call as `tools.search_notes(...)` and `tools.word_count(...)`;
* a failing tool call the policy recovers from by reading the error text;
* a slow program that yields (`Script running with cell ID N`) and is collected with `wait`;
* values kept across programs with `store`/`load`, notifications arriving on the side.

Needs the `codemode` kernelspec: `python -m codemode_kernel install`.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from codemode_kernel.client import CodeModeClient, ExecResult

HANDBOOK = {
    "intro": (
        "Code mode lets a model write one small JavaScript program instead of calling tools "
        "one by one. The program calls the tools, combines their answers and prints only what "
        "the model needs to read next."
    ),
    "lifecycle": (
        "Every program runs in a fresh isolate. If it runs longer than its yield time it keeps "
        "running in the background and the model gets its cell id, which it can wait on later "
        "or terminate."
    ),
    "tools": (
        "Nested tools are plain functions on the host. A call returns a promise, calls can run "
        "in parallel, and a failing tool rejects with its error message as a string."
    ),
}

NOTES = [
    {"id": 1, "title": "Yield early", "body": "Long crawls should yield after a second."},
    {"id": 2, "title": "Store results", "body": "Keep partial results with store()."},
    {"id": 3, "title": "Waiting", "body": "After a yield, wait on the cell id to collect output."},
    {"id": 4, "title": "Budgets", "body": "Cap output with max_output_tokens to save context."},
]


def search_notes(query: str, limit: int = 3) -> list[dict[str, Any]]:
    """Search the team notes (case-insensitive, title and body); at most `limit` hits."""
    needle = query.lower()
    hits = [n for n in NOTES if needle in f"{n['title']} {n['body']}".lower()]
    return hits[:limit]


async def word_count(section: str) -> int:
    """Count the words of one section of the bundled handbook."""
    await asyncio.sleep(0.05)  # pretend to fetch it
    if section not in HANDBOOK:
        raise ValueError(f"no section `{section}`; sections: {', '.join(HANDBOOK)}")
    return len(HANDBOOK[section].split())


# --- the scripted "model" --------------------------------------------------------------------

COUNT_PROGRAM = """\
const counts = {};
for (const section of %s) {
  counts[section] = await tools.word_count({section});
  notify(`counted ${section}`);
  await new Promise(resolve => setTimeout(resolve, 150));
}
store("counts", counts);
text(JSON.stringify(counts));
Object.values(counts).reduce((a, b) => a + b, 0)"""


@dataclass
class Action:
    """One model turn: a tool call (`exec` or `wait`) or the final answer."""

    tool: str  # "exec" | "wait" | "answer"
    args: dict[str, Any]


class ScriptedModel:
    """Stands in for the LLM: a plan of programs, plus two rules it applies to every output.

    A `Script running with cell ID N` header means "wait on N"; a failed word count means
    "read the section names from the error and count those instead".
    """

    def __init__(self) -> None:
        self.plan: list[Callable[[str], Action]] = [self._search, self._count_guess, self._final]

    def decide(self, last_output: list[dict[str, str]] | None) -> Action:
        header = last_output[0]["text"] if last_output else ""
        running = re.match(r"Script running with cell ID (\S+)\n", header)
        if running:
            return Action("wait", {"cell_id": running.group(1)})
        texts = "\n".join(item.get("text", "") for item in last_output or [])
        sections = re.search(r"sections: ([\w, ]+)", texts)
        if header.startswith("Script failed") and sections:
            names = [s.strip() for s in sections.group(1).split(",")]
            source = '// @exec: {"yield_time_ms": 200}\n' + COUNT_PROGRAM % json.dumps(names)
            return Action("exec", {"source": source})
        return self.plan.pop(0)(texts)

    @staticmethod
    def _search(_: str) -> Action:
        source = """\
const hits = await tools.search_notes({query: "yield"});
text(`${hits.length} notes mention "yield"`);
for (const hit of hits) console.log(`#${hit.id} ${hit.title}: ${hit.body}`);
store("hits", hits.map(hit => hit.id));"""
        return Action("exec", {"source": source})

    @staticmethod
    def _count_guess(_: str) -> Action:
        return Action("exec", {"source": COUNT_PROGRAM % '["preface"]'})

    @staticmethod
    def _final(_: str) -> Action:
        source = """\
const counts = load("counts"), hits = load("hits");
text(`notes ${hits.join(", ")} cover yielding; the handbook has ${
  Object.values(counts).reduce((a, b) => a + b, 0)} words`);"""
        return Action("exec", {"source": source, "last": True})


# --- the loop --------------------------------------------------------------------------------


@dataclass
class Turn:
    action: Action
    output: list[dict[str, str]]
    result: ExecResult


def show(title: str, body: str) -> None:
    print(f"\n── {title} " + "─" * max(0, 60 - len(title)))
    print(body)


async def run_agent(verbose: bool = True) -> list[Turn]:
    """Drive the kernel with the scripted model until it answers; returns the transcript."""
    say = show if verbose else (lambda title, body: None)
    turns: list[Turn] = []
    async with CodeModeClient.start(tools=[search_notes, word_count]) as client:
        description = await client.describe()
        declarations = [ln for ln in description["exec"].splitlines() if "declare const" in ln]
        say("tools the model is told about (from describe())", "\n".join(declarations))
        model, output = ScriptedModel(), None
        while True:
            action = model.decide(output)
            if action.tool == "exec":
                say("model → exec", action.args["source"])
                result = await client.exec(action.args["source"])
            else:
                say("model → wait", json.dumps(action.args))
                result = await client.wait(action.args["cell_id"])
            output = result.to_model_output()
            say("tool output, exactly as the model reads it", json.dumps(output, indent=2))
            while not client.notifications.empty():
                note = client.notifications.get_nowait()
                say(f"notification from cell {note.cell_id}", note.text)
            turns.append(Turn(action, output, result))
            if action.args.get("last"):
                say("model → answer", output[1]["text"] if len(output) > 1 else "(nothing)")
                return turns


def main() -> int:
    try:
        asyncio.run(run_agent())
    except Exception as exc:  # most likely: the kernelspec is not installed
        if type(exc).__name__ == "NoSuchKernel":
            print("the `codemode` kernel is not installed: python -m codemode_kernel install")
            return 1
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
