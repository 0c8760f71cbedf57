"""Statements of a generated load run side by side from sessions of their own (``bench/generate_load.py``), so that the
keys, indexes, foreign keys and rule checks of the nation use every core: a foreign key's validation and a rule check
run on one core each, and the parallel B-tree builds leave cores idle while they merge.

Each session is a connection of its own in autocommit: it sees only committed rows, and a statement's locks end with
it, so two sessions never wait on each other for long and never deadlock. A statement marked ``exclusive`` locks its
table against the other statements of its table (``ALTER TABLE ... VALIDATE CONSTRAINT`` takes SHARE UPDATE EXCLUSIVE,
which conflicts with itself): it waits for a free table instead of blocking a session.
"""

import dataclasses
import threading
import time
from collections.abc import Callable

import psycopg2

SESSION_SETTINGS = "SET maintenance_work_mem = '1GB'; SET work_mem = '256MB'; SET synchronous_commit = off"


@dataclasses.dataclass(frozen=True)
class Step:
    statement: str
    table: str  # the table whose rows it reads: the biggest tables' statements start first
    exclusive: bool = False  # no other statement of the table at the same time


class StepFailed(Exception):
    def __init__(self, step: Step, error: Exception):
        super().__init__(f"{' '.join(step.statement.split())[:120]}: {error}")
        self.step, self.error = step, error


def biggest_first(steps: list[Step], sizes: dict[str, int]) -> list[Step]:
    """The longest statements first (the size of the table they read stands for their time), so that the last one to
    finish is a short one."""
    return sorted(steps, key=lambda step: -sizes.get(step.table, 0))


def run_in_sessions(
    steps: list[Step],
    sessions: int,
    connect_params: dict,
    on_done: Callable[[Step, float, object], None] = lambda step, seconds, result: None,
) -> dict[str, object]:
    """Run ``steps`` in that order of preference from ``sessions`` connections; return each statement's first value
    (None when it returns no rows). The first failure stops the sessions after their current statement and is raised
    as ``StepFailed``."""
    pending = list(steps)
    busy: set[str] = set()
    results: dict[str, object] = {}
    failures: list[StepFailed] = []
    condition = threading.Condition()

    def take() -> Step | None:
        with condition:
            while pending and not failures:
                for index, step in enumerate(pending):
                    if not (step.exclusive and step.table in busy):
                        del pending[index]
                        if step.exclusive:
                            busy.add(step.table)
                        return step
                condition.wait()
            return None

    def finish(step: Step, result=None, failure: StepFailed | None = None) -> None:
        with condition:
            if step.exclusive:
                busy.discard(step.table)
            if failure:
                failures.append(failure)
            else:
                results[step.statement] = result
            condition.notify_all()

    def session() -> None:
        try:
            connection = psycopg2.connect(**connect_params)
        except psycopg2.Error as error:
            with condition:
                failures.append(StepFailed(Step("connect", ""), error))
                condition.notify_all()
            return
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(SESSION_SETTINGS)
                while (step := take()) is not None:
                    started = time.monotonic()
                    try:
                        cursor.execute(step.statement)
                        row = cursor.fetchone() if cursor.description else None
                    except psycopg2.Error as error:
                        finish(step, failure=StepFailed(step, error))
                        return
                    finish(step, row[0] if row else None)
                    on_done(step, time.monotonic() - started, results[step.statement])
        finally:
            connection.close()

    threads = [threading.Thread(target=session, name=f"generate-session-{n}") for n in range(max(1, sessions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return results
