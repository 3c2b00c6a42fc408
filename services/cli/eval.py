"""`workmode eval`: run the work and injection suites against a model, write the report, compare two."""
from __future__ import annotations

import json
import os
from pathlib import Path

import click

from services.cli.common import fail


@click.group(invoke_without_command=True)
@click.option("--suite", type=click.Choice(["work", "injection", "all"]), default="all", show_default=True)
@click.option("--task", "task_ids", multiple=True, metavar="ID", help="Run only this task (repeatable).")
@click.option("--runs", type=click.IntRange(1, 100), default=1, show_default=True, help="Runs per task.")
@click.option("--model-url", default=None, help="OpenAI-compatible /v1 base URL. Default: WORKMODE_MODEL_BASE_URL, "
                                                "else the local demo model.")
@click.option("--model-name", default=None, help="Model name sent to the server. Default: WORKMODE_MODEL_NAME.")
@click.option("--tool-mode", type=click.Choice(["native", "json"]), default=None,
              help="Tool calling mode. Default: WORKMODE_TOOL_MODE (json for the local model).")
@click.option("--task-timeout", type=click.FloatRange(1), default=600.0, show_default=True,
              help="Seconds before a task's job is cancelled.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the JSON report here.")
@click.option("--list", "list_only", is_flag=True, help="List the tasks and exit.")
@click.pass_context
def eval(ctx: click.Context, suite: str, task_ids: tuple[str, ...], runs: int, model_url: str | None,
         model_name: str | None, tool_mode: str | None, task_timeout: float, out_path: Path | None,
         list_only: bool) -> None:
    """Does the agent get the work done? Runs each task as a real job on a fresh sandbox, with a scripted
    reviewer deciding approvals, and checks the end state."""
    if ctx.invoked_subcommand is not None:
        return
    os.environ["WORKMODE_BROKER_URL"] = "memory://"  # before the engine is imported: the embedded broker
    from services.evals.suites import select_tasks

    try:
        tasks = select_tasks(suite, task_ids)
    except ValueError as exc:
        fail(str(exc))
    if list_only:
        for t in tasks:
            extra = f"  [skipped: {t.skip}]" if t.skip else ""
            click.echo(f"{t.id:32} {t.suite:10} {t.kind:18} {t.prompt[:90]}{extra}")
        return
    _run(tasks, runs=runs, model_url=model_url, model_name=model_name, tool_mode=tool_mode,
         task_timeout=task_timeout, out_path=out_path)


def _run(tasks, *, runs, model_url, model_name, tool_mode, task_timeout, out_path) -> None:
    from services.config import get_settings
    from services.errors import Unavailable
    from services.evals.harness import RunConfig, run_suite
    from services.evals.report import failures, report, step_latency, step_line, table
    from services.metrics import step_histogram

    settings = get_settings()
    cfg = RunConfig(model_url=model_url or settings.model_base_url, model_name=model_name or "",
                    tool_mode=tool_mode or "", runs=runs, task_timeout_s=task_timeout)
    if cfg.model_url and not cfg.model_name:
        cfg.model_name = settings.model_name

    def progress(r: dict) -> None:
        if "skipped" in r:
            click.echo(f"  {r['id']}: skipped ({r['skipped']})")
        else:
            mark = click.style("ok  ", fg="green") if r["success"] else click.style("FAIL", fg="red")
            click.echo(f"  {mark} {r['id']} (run {r['run'] + 1}): {r['steps']} steps, {r['wall_s']:.0f}s")

    click.echo(f"running {len(tasks)} task(s) × {runs} on "
               f"{cfg.model_name + ' at ' + cfg.model_url if cfg.model_url else 'the local demo model'}")
    steps_before = step_histogram()  # the embedded worker runs the jobs' steps in this process
    try:
        results = run_suite(tasks, cfg, on_result=progress)
    except Unavailable as exc:
        fail(str(exc))
    from services.config import get_settings as current

    meta = {"model_url": cfg.model_url or "local", "model_name": cfg.model_name or current().model_name,
            "tool_mode": cfg.tool_mode or "default", "runs": runs}
    doc = report(results, meta)
    doc["step_latency"] = step_latency(steps_before, step_histogram())
    click.echo("\n" + table(doc))
    click.echo(step_line(doc["step_latency"]))
    why = failures(doc)
    if why:
        click.echo("\nfailures:\n" + why)
    if out_path is not None:
        out_path.write_text(json.dumps(doc, indent=2, default=str))
        click.echo(f"\nreport: {out_path}")


@eval.command()
@click.argument("a", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("b", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def compare(a: Path, b: Path) -> None:
    """Show what changed between two reports (A, then B)."""
    from services.evals.report import compare as diff

    docs = []
    for path in (a, b):
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            fail(f"{path}: not a readable JSON report ({exc})")
        if not isinstance(doc, dict) or "summary" not in doc or "tasks" not in doc:
            fail(f"{path}: not a `workmode eval` report (no summary and tasks)")
        docs.append(doc)
    click.echo(diff(docs[0], docs[1]))
