import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from workbooks.importing import WorkbookRefused, import_workbook
from workbooks.jobs import step_label
from workbooks.layout import SHEETS


class TerminalBar:
    """The import's progress on a terminal, one line redrawn in place (``\\r``) when the step or the percent changes
    (while reading, every ``READ_STEP`` rows: the rows to come are not known); erased at the end. Only for a
    terminal: scripts and logs get the plain lines alone."""

    WIDTH = 30
    READ_STEP = 5_000

    def __init__(self, out, *, importing: bool):
        self.out, self.importing = out, importing
        self.shown: tuple | None = None

    def __call__(self, step: str, done: int, total: int) -> None:
        percent = done * 100 // total if total else None
        shown = (step, percent, done // self.READ_STEP if percent is None else None)
        if shown == self.shown:
            return
        self.shown = shown
        label = step_label(step, importing=self.importing)
        if percent is not None:
            filled = self.WIDTH * done // total
            text = f"{label} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {percent:3d}% {done:,}/{total:,}"
        else:
            text = f"{label}: {done:,}"
        self.out.write(f"\r{text}\033[K", ending="")
        self.out.flush()

    def close(self) -> None:
        if self.shown is not None:
            self.out.write("\r\033[K", ending="")
            self.out.flush()


class Command(BaseCommand):
    help = (
        "Import the committees' workbook (sheets Tổ chức, Đảng viên, Quá trình sinh hoạt, Giới thiệu, Chuyển chi bộ "
        "nơi cư trú): all or nothing. Prints every problem (sheet, row, column, message) and exits with status 1 when "
        "there is any."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The .xlsx workbook.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check everything and say what would change; write nothing."
        )
        parser.add_argument(
            "--update-existing",
            action="store_true",
            help="Let rows change the organisations and members already recorded (without it, such a row is a "
            "problem; unchanged rows are fine either way).",
        )

    def handle(self, *args, file, dry_run, update_existing=False, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")
        started = time.perf_counter()
        bar = TerminalBar(self.stdout, importing=not dry_run) if self.stdout.isatty() else None
        try:
            with path.open("rb") as upload:
                result = import_workbook(
                    upload,
                    by=None,
                    dry_run=dry_run,
                    file_name=path.name,
                    progress=bar,
                    update_existing=update_existing,
                )
        except WorkbookRefused as refused:
            raise CommandError(str(refused.message)) from refused
        finally:
            if bar is not None:
                bar.close()
        seconds = time.perf_counter() - started
        for problem in result.problems:
            where = " ".join(
                part for part in (problem.sheet, f"row {problem.row}" if problem.row else "", problem.column) if part
            )
            self.stderr.write(f"{where}: {problem.message}")
        for sheet in SHEETS:
            counts = result.counts.get(sheet.key)
            if counts is not None and counts.rows:
                self.stdout.write(
                    f"{sheet.title}: {counts.rows} rows — {counts.create} to create, {counts.update} to update, "
                    f"{counts.unchanged} unchanged"
                )
        if result.problems:
            raise CommandError(f"{len(result.problems)} problem(s); nothing was written ({seconds:.1f} s).")
        verdict = "checked, nothing written (dry run)" if dry_run else "imported"
        self.stdout.write(f"{path.name}: {verdict} in {seconds:.1f} s.")
