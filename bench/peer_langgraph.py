"""The peer side of bench/engine.py: a LangGraph ReAct agent that checkpoints to PostgreSQL.

What a team would build instead of Workmode: `langgraph.prebuilt.create_react_agent` with a
`ChatOpenAI` model pointed at the same scripted server, and `PostgresSaver` (package
langgraph-checkpoint-postgres) as its checkpointer, on the same PostgreSQL server (a scratch
database of its own, tables made by `PostgresSaver.setup()`). Each job is one graph run on its own
`thread_id`. The model is bound to the very tool specs Workmode sends (`tool_specs`), the system
prompt and first user message are Workmode's, and every tool call runs through the same
`services.agent.calls.run_read`, its result truncated and fenced like the bare loop's; so the
requests have the same shape on every side and what differs is the orchestration and persistence.

Needs the `bench` extra (`pip install -e '.[bench]'`); `missing()` says what is absent.
"""
from __future__ import annotations

import importlib.util
import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig

Durability = Literal["sync", "async", "exit"]

NEEDS = ("langgraph", "langgraph.checkpoint.postgres", "langchain_openai")


def missing() -> list[str]:
    """The modules of the `bench` extra that cannot be imported here (empty: the peer can run)."""
    out = []
    for name in NEEDS:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ModuleNotFoundError, ValueError):  # a parent package missing, or blocked
            found = False
        if not found:
            out.append(name)
    return out


@contextmanager
def checkpoint_db(admin_url: str, name: str) -> Iterator[str]:
    """A scratch database for the checkpoints (created, yielded as a psycopg URL, dropped)."""
    import sqlalchemy as sa

    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0].replace("postgresql+psycopg://", "postgresql://") + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class LangGraphPeer:
    """create_react_agent + PostgresSaver; `run(n)` runs n jobs one after another, like the bare loop."""

    def __init__(self, model_url: str, principal: Any, org: Any, checkpoint_url: str, *,
                 final: str, prompt: str, steps_per_job: int, summarize: Callable[..., dict],
                 durability: Durability = "async"):
        from langchain_core.tools import StructuredTool
        from langchain_openai import ChatOpenAI
        from langgraph.checkpoint.postgres import PostgresSaver
        from langgraph.prebuilt import create_react_agent

        from services.agent.prompt import SYSTEM_PROMPT
        from services.agent.toolbox import job_tools, tool_specs
        from services.config import get_settings

        s = get_settings()
        self.settings, self.principal = s, principal
        self.final, self.prompt, self.steps_per_job, self.durability = final, prompt, steps_per_job, durability
        self.summarize = summarize  # bench.engine.summary (engine.py runs as __main__: no import back)
        self.refs = job_tools(org)
        specs = tool_specs(self.refs)
        self._saver_cm = PostgresSaver.from_conn_string(checkpoint_url)
        self.saver = self._saver_cm.__enter__()
        self.saver.setup()
        self.job: Any = None  # the job whose graph run is in progress (its tools read it)
        self.seq = 0
        self.tools_s = 0.0
        tools = [StructuredTool.from_function(func=self._tool(spec["function"]["name"]),
                                              name=spec["function"]["name"],
                                              description=spec["function"].get("description", ""),
                                              args_schema=spec["function"].get("parameters", {"type": "object"}))
                 for spec in specs]
        chat = ChatOpenAI(base_url=model_url, api_key="bench", model=s.model_name, max_retries=0, timeout=30,
                          max_tokens=s.model_max_output_tokens, reasoning_effort=s.default_reasoning_effort)
        # Bound to Workmode's own specs (not LangChain's rendering of the tools): the same request.
        model = chat.bind_tools(specs, tool_choice="auto")
        self.graph = create_react_agent(model, tools, prompt=SYSTEM_PROMPT, checkpointer=self.saver)

    def _tool(self, name: str) -> Callable[..., str]:
        from services.agent.calls import run_read
        from services.agent.prompt import fence, truncate

        ref = self.refs[name]

        def call(**arguments: Any) -> str:
            t0 = time.perf_counter()
            result = run_read(self.job, self.principal, ref, arguments)
            self.tools_s += time.perf_counter() - t0
            self.seq += 1
            content = truncate(result.as_text(), f"m:{self.seq}", self.settings.tool_result_max_chars)
            return fence(content, result.source) if result.untrusted else content

        return call

    def run_job(self) -> int:
        from langchain_core.messages import AIMessage, ToolMessage

        from services.jobs.transcript import first_user_message
        from services.store.models import utcnow

        self.job = SimpleNamespace(id=uuid.uuid4().hex, prompt=self.prompt)
        self.seq = 0
        config: RunnableConfig = {"configurable": {"thread_id": self.job.id}, "recursion_limit": 4 * self.steps_per_job}
        state = self.graph.invoke(
            {"messages": [("user", first_user_message(self.job, self.principal, utcnow()))]}, config,
            durability=self.durability,
        )
        msgs = state["messages"]
        turns = [m for m in msgs if isinstance(m, AIMessage)]
        results = [m for m in msgs if isinstance(m, ToolMessage)]
        if turns[-1].content != self.final or any(m.status == "error" for m in results):
            raise RuntimeError(f"langgraph job {self.job.id} went wrong: {json.dumps(msgs[-1].content)[:300]}")
        return len(turns) + len(results)

    def checkpoints(self, thread_id: str) -> int:
        return sum(1 for _ in self.saver.list({"configurable": {"thread_id": thread_id}}))

    def run(self, n: int) -> dict:
        latencies, total, per_job = [], 0, []
        self.tools_s = 0.0
        t0 = time.perf_counter()
        for _ in range(n):
            j0 = time.perf_counter()
            steps = self.run_job()
            latencies.append(time.perf_counter() - j0)
            if steps != self.steps_per_job:
                raise RuntimeError(f"langgraph job {self.job.id} took {steps} steps, not {self.steps_per_job}")
            total += steps
            per_job.append(self.job.id)
        wall = time.perf_counter() - t0
        out = self.summarize("langgraph+postgres", n, total, wall, latencies)
        out["phases_ms_per_step"] = {"run_read (tool)": 1000 * self.tools_s / total}
        out["checkpoints_per_job"] = self.checkpoints(per_job[-1])  # counted after the timing
        return out

    def close(self) -> None:
        self._saver_cm.__exit__(None, None, None)
