"""Benchmark: the app under a realistic load, as it runs in production (issue 10, "Load").

`make serve` (gunicorn with dongha76/gunicorn.conf.py, WhiteNoise, DEBUG=0, BEHIND_PROXY=1) on PostgreSQL with the
whole demo data, and locust (bench/locustfile.py: the five demo roles, each signing in once and then reading pages
with a few seconds between two clicks) for 60 s. On a throw-away database: created, migrated, seeded (seed_demo,
today = 30/11/2026), served, loaded, then dropped.

Reports p50, p95 and p99 in milliseconds (exact, from every response time) and the error count, overall, without
the sign-in (once per user, all at the start: a burst of password hashing) and per page; prints them and writes
bench-results/load-postgresql.json. locust's own CSV files and HTML report, and gunicorn's log, go to
bench-results/load/. An error is any answer but the expected one (a page not 200, a sign-in not redirected, a
workbook not .xlsx) or a traceback or 5xx in gunicorn's log. Exit status 1 on any error (the goal is none).

    make bench                                      # part of it
    .venv/bin/python bench/load.py                  # alone (needs .venv-bench: make bench installs it)

LOAD_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/dongha76_bench; the database is dropped at the end),
LOAD_USERS (default 20), LOAD_SPAWN_RATE (users started per second, default 2), LOAD_SECONDS (default 60).
"""

import csv
import datetime
import json
import math
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dj_database_url
import psycopg2
from psycopg2 import sql

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
LOCUST = ROOT / ".venv-bench" / "bin" / "locust"
OUT = ROOT / "bench-results"
DETAILS = OUT / "load"
TODAY = "2026-11-30"  # fixed, so that runs on different days load the same data (bench/workbook.py does the same)

DATABASE_URL = os.environ.get("LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dongha76_bench")
USERS = int(os.environ.get("LOAD_USERS", "20"))
SPAWN_RATE = float(os.environ.get("LOAD_SPAWN_RATE", "2"))
SECONDS = int(os.environ.get("LOAD_SECONDS", "60"))
SIGN_IN = {"GET login form", "POST login"}


def maintenance(database: dict):
    """A connection to the server's maintenance database, for CREATE and DROP DATABASE."""
    connection = psycopg2.connect(
        dbname="postgres",
        user=database["USER"] or None,
        password=database["PASSWORD"] or None,
        host=database["HOST"] or None,
        port=database["PORT"] or None,
    )
    connection.autocommit = True
    return connection


def recreate(database: dict, *, create: bool) -> None:
    connection = maintenance(database)
    try:
        with connection.cursor() as cursor:
            name = sql.Identifier(database["NAME"])
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            if create:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(name))
    finally:
        connection.close()


def server_version(database: dict) -> str:
    connection = maintenance(database)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            return cursor.fetchone()[0].split()[0]
    finally:
        connection.close()


def production_env(static_root: Path) -> dict[str, str]:
    """The documented production environment (docs/deploy.md), on the throw-away database."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "GUNICORN_"))}
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=DATABASE_URL,
        BEHIND_PROXY="1",
        CONN_MAX_AGE="60",
        STATIC_ROOT=str(static_root),
    )
    env.pop("WEB_CONCURRENCY", None)  # workers from the CPU count, as in production
    return env


def manage(env: dict[str, str], *args: str) -> None:
    started = time.perf_counter()
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
    print(f"  manage.py {' '.join(args)}: {time.perf_counter() - started:.1f} s", flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(port: int, server: subprocess.Popen, seconds: float = 120) -> None:
    """Until the login page answers (make serve collects and migrates first)."""
    deadline = time.monotonic() + seconds
    request = urllib.request.Request(f"http://127.0.0.1:{port}/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("make serve stopped; see bench-results/load/gunicorn.log")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("make serve did not answer in time")


def stop(server: subprocess.Popen) -> None:
    """gunicorn's graceful stop (TERM to make and the gunicorn it exec'd: one process group)."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def percentile(times: list[float], share: float) -> int:
    """The nearest-rank percentile of sorted response times, in whole milliseconds."""
    return round(times[max(0, math.ceil(share * len(times)) - 1)])


def figures(samples: list[list], seconds: float) -> dict:
    times = sorted(time_ms for _page, time_ms, _failed in samples)
    return {
        "requests": len(samples),
        "errors": sum(1 for *_rest, failed in samples if failed),
        **{f"p{round(share * 100)}": percentile(times, share) for share in (0.50, 0.95, 0.99)},
        "max": round(times[-1]),
        "per_second": round(len(samples) / seconds, 2),
    }


def summarise(samples: list[list], seconds: float) -> dict:
    """Overall, overall without the sign-in (once per user, at the start: a burst of password hashing), and per
    page, busiest first."""
    pages = sorted({page for page, *_rest in samples}, key=lambda page: -sum(1 for s in samples if s[0] == page))
    return {
        "overall": figures(samples, seconds),
        "after_sign_in": figures([s for s in samples if s[0] not in SIGN_IN], seconds),
        "pages": [{"page": page, **figures([s for s in samples if s[0] == page], seconds)} for page in pages],
    }


def read_failures(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open(newline="") as file:
        return [
            {"page": f"{row['Method']} {row['Name']}", "error": row["Error"], "count": int(row["Occurrences"])}
            for row in csv.DictReader(file)
        ]


def server_errors(log: Path) -> int:
    """Tracebacks and 5xx lines in gunicorn's log (access and error logs together)."""
    text = log.read_text(errors="replace")
    return text.count("Traceback (most recent call last)") + sum(
        1 for line in text.splitlines() if '" 50' in line and "HTTP/1.1" in line
    )


def main() -> int:
    if not LOCUST.exists():
        print("locust is not installed: run `make bench` (it installs requirements-bench.txt into .venv-bench).")
        return 2
    database = dj_database_url.parse(DATABASE_URL)
    if database["ENGINE"] != "django.db.backends.postgresql":
        print(f"LOAD_DATABASE_URL must be a PostgreSQL database, not {DATABASE_URL}")
        return 2
    DETAILS.mkdir(parents=True, exist_ok=True)
    (DETAILS / "samples.json").unlink(missing_ok=True)
    env = production_env(DETAILS / "static")
    port = free_port()
    print(f"load: {database['NAME']} on PostgreSQL {server_version(database)}, {USERS} users for {SECONDS} s")
    recreate(database, create=True)
    log = (DETAILS / "gunicorn.log").open("w")
    server = None
    try:
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo", "--today", TODAY)
        server = subprocess.Popen(  # noqa: S603 - make serve, as documented
            [shutil.which("make") or "make", "--no-print-directory", "serve", "HOST=127.0.0.1", f"PORT={port}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until_serving(port, server)
        for _ in range(2 * (os.cpu_count() or 1) + 1):  # a first request to each worker, as a running server has had
            wait_until_serving(port, server)
        started = time.perf_counter()
        locust = subprocess.run(  # noqa: S603 - our locustfile against our server on the loopback
            [
                str(LOCUST),
                "--locustfile",
                str(ROOT / "bench" / "locustfile.py"),
                "--headless",
                "--users",
                str(USERS),
                "--spawn-rate",
                str(SPAWN_RATE),
                "--run-time",
                f"{SECONDS}s",
                "--stop-timeout",
                "30",
                "--host",
                f"http://127.0.0.1:{port}",
                "--csv",
                str(DETAILS / "locust"),
                "--html",
                str(DETAILS / "report.html"),
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            cwd=ROOT,
            env={**os.environ, "LOAD_SAMPLES": str(DETAILS / "samples.json")},
            check=False,
            capture_output=True,
            text=True,
        )
        ran = time.perf_counter() - started
        (DETAILS / "locust.log").write_text(locust.stdout + locust.stderr)
    finally:
        if server is not None:
            stop(server)
        log.close()
        recreate(database, create=False)

    samples_file = DETAILS / "samples.json"
    if locust.returncode not in (0, 1) or not samples_file.exists():
        print(locust.stdout[-2000:], locust.stderr[-2000:], file=sys.stderr)
        return 1
    summary = summarise(json.loads(samples_file.read_text()), ran)
    failures = read_failures(DETAILS / "locust_failures.csv")
    result = {
        "benchmark": "load",
        "database": "postgresql",
        "users": USERS,
        "spawn_rate": SPAWN_RATE,
        "seconds": SECONDS,
        "ran_seconds": round(ran, 1),
        **summary["overall"],
        "after_sign_in": summary["after_sign_in"],
        "server_errors": server_errors(DETAILS / "gunicorn.log"),
        "pages": summary["pages"],
        "failures": failures,
        "gunicorn": "make serve: dongha76/gunicorn.conf.py (gthread), workers from the CPU count",
        "load_average_after": os.getloadavg()[0],
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "measured_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    (OUT / "load-postgresql.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")

    print(f"{'page':<34} {'requests':>8} {'errors':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    rows = [*summary["pages"], {"page": "all but the sign-in", **summary["after_sign_in"]}]
    for page in [*rows, {"page": "overall", **summary["overall"]}]:
        print(
            f"{page['page'][:34]:<34} {page['requests']:>8} {page['errors']:>6} {page['p50']:>7} {page['p95']:>7} "
            f"{page['p99']:>7}"
        )
    print(
        f"{result['requests']} requests in {result['ran_seconds']} s ({result['per_second']} per second) from {USERS} "
        f"users; errors: {result['errors']} (locust), {result['server_errors']} (gunicorn's log); "
        f"load average afterwards {result['load_average_after']:.1f} on {result['cpus']} CPUs"
    )
    for failure in failures:
        print(f"ERROR {failure['count']} x {failure['page']}: {failure['error']}", file=sys.stderr)
    return 1 if result["errors"] or result["server_errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
