"""The scripted person: decides a task's approvals and answers its questions through the same
service functions a person's click or reply goes through (`decide`, `answer_question`).

It approves an action that does something the task expects and that no approved action has done
yet; it rejects anything else, with a reason the model reads (what is wrong with it, when it is
the right kind of action with the wrong arguments)."""
from __future__ import annotations

from sqlmodel import Session, col, select

from services.approvals.service import decide
from services.evals.tasks import Task
from services.evals.world import Look
from services.jobs.service import answer_question
from services.store.models import Action, ActionStatus, Job, Principal

NO_ANSWER = "I have nothing to add: go on with your best judgement."
NOT_ASKED = "Rejected: that is not part of what I asked for. Do not do it."


class Reviewer:
    def __init__(self, task: Task, actor: Principal):
        self.task, self.actor = task, actor
        self.approved: set[int] = set()  # indexes of the task's expects an approved action covers
        self.decisions = 0

    def reason(self, tool: str, args: dict, look: Look) -> str | None:
        """None to approve, else the reason for rejecting."""
        near: list[str] = []
        for i, expect in enumerate(self.task.expects):
            if i in self.approved:
                continue
            problems = expect.problems(tool, args, look)
            if not problems:
                self.approved.add(i)
                return None
            if tool in expect.tools:
                near = near or problems
        return f"Rejected: not what I asked for ({'; '.join(near)})." if near else NOT_ASKED

    def step(self, session: Session, job: Job, look: Look) -> None:
        """Decide every pending action of the job; answer its question if it asked one."""
        pending = session.exec(select(Action).where(Action.job_id == job.id, Action.status == ActionStatus.pending)
                               .order_by(col(Action.created_at))).all()
        for action in pending:
            why = self.reason(action.tool, action.arguments, look)
            if why is None:
                decide(session=session, action_id=action.id, actor=self.actor, decision="approve",
                       shown_hash=action.args_hash)
            else:
                decide(session=session, action_id=action.id, actor=self.actor, decision="reject",
                       shown_hash=action.args_hash, reason=why)
            session.commit()
            self.decisions += 1
        if job.waiting_for == "answer" and not pending:
            answer_question(session=session, job_id=job.id, actor=self.actor, text=self.task.reply or NO_ANSWER)
            session.commit()
