"""What the JSON API answers after a submit: the tasks the submitter may act on next, with their links."""

from __future__ import annotations

from flask import url_for

from engine.views import NextTask, plain_data


def next_tasks(tasks: list[NextTask]) -> list[dict]:
    """The open tasks the submitter may act on next, each with the links a client follows (API and form page)."""
    return [plain_data({**task.as_dict(),
                        "url": url_for("api.task", task_id=task.id),
                        "complete_url": url_for("api.complete", task_id=task.id),
                        "form_url": url_for("task.show", task_id=task.id)}) for task in tasks]
