"""Tasks: one file per task, each owning its data schema, prompt format, metrics and programmatic rewards.

``get_task("summarization")`` (or a :class:`Task` instance) is what the DataModules, configs (``task:``) and
``perl pipeline --task`` take.
"""

from perl_lightning.tasks.base import (
    Demonstration,
    PreferenceExample,
    PromptExample,
    RatedExample,
    Task,
    pairs_from_ratings,
)
from perl_lightning.tasks.dialogue import Dialogue
from perl_lightning.tasks.generic import Generic
from perl_lightning.tasks.harmlessness import Harmlessness
from perl_lightning.tasks.helpfulness import Helpfulness
from perl_lightning.tasks.summarization import Summarization
from perl_lightning.tasks.ui_automation import UIAutomation
from perl_lightning.tasks.vqa import VQA

#: Every task by name.
TASKS: dict[str, type[Task]] = {
    cls.name: cls for cls in (Summarization, Harmlessness, Helpfulness, Dialogue, UIAutomation, VQA, Generic)
}


def get_task(task: str | Task) -> Task:
    """A task instance: given, or built with its defaults from its name."""
    if isinstance(task, Task):
        return task
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; known: {sorted(TASKS)} (or pass a Task instance)")
    return TASKS[task]()


__all__ = [
    "TASKS",
    "Demonstration",
    "Dialogue",
    "Generic",
    "Harmlessness",
    "Helpfulness",
    "PreferenceExample",
    "PromptExample",
    "RatedExample",
    "Summarization",
    "Task",
    "UIAutomation",
    "VQA",
    "get_task",
    "pairs_from_ratings",
]
