"""gunicorn's settings for production: `make serve` and the systemd unit of docs/deploy.md run

    gunicorn --config dongha76/gunicorn.conf.py --bind 127.0.0.1:8000

with DEBUG=0, SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL in the environment. WhiteNoise (in Django's middleware)
serves the collected static files, so gunicorn alone is a complete server; nginx in front adds TLS.

The environment may change: WEB_CONCURRENCY (worker processes), GUNICORN_THREADS (threads per worker),
GUNICORN_TIMEOUT (seconds; also each database statement's limit, see below); anything else through gunicorn's own
GUNICORN_CMD_ARGS.

The processes keep nothing of their own between requests (docs/scaling.md): sessions, login throttling, the cache
and the workbook jobs' progress are in the database, so any number of them, on any number of machines, can serve
behind a load balancer without sticky sessions.
"""

import multiprocessing
import os

wsgi_app = "dongha76.wsgi:application"
proc_name = "dongha76"
bind = ["127.0.0.1:8000"]  # behind nginx on the same host; `--bind` on the command line replaces it

# Processes from the CPU count, as gunicorn's documentation advises (2 per core + 1): while one waits for PostgreSQL
# another computes.
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)

# The gthread worker, not the default sync one. A sync worker tells the arbiter that it is alive only between two
# requests, so the arbiter kills it (SIGABRT) when one request runs longer than `timeout`: the city's member export
# died that way at gunicorn's default 30 s (issue 10, finding 8), and exports now stream for a minute or more. A
# gthread worker serves requests in its threads while its main loop reports every second, so a response streams for
# as long as the client reads it, and the worker still answers other requests meanwhile. `timeout` then only catches
# a worker whose main loop is stuck. nginx's proxy_read_timeout (docs/deploy.md) is the same 120 s: it bounds a pause
# between two chunks of a response (or the wait for its first byte), not the whole download.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS") or 4)
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 120)
# On a restart (a deploy), a worker may finish what it is serving, an export included, for this long; the systemd
# unit's TimeoutStopSec is longer.
graceful_timeout = timeout
keepalive = 5

# No query of a web request runs longer than the request may: PostgreSQL cancels a statement after `timeout` seconds
# (settings.py reads DATABASE_STATEMENT_TIMEOUT, which the workers inherit from here), so a report whose reader has
# gone (nginx gave up at the same 120 s) stops holding a connection and a core. Commands (migrate, the figures,
# exports) run without this process's environment, without a limit. DATABASE_STATEMENT_TIMEOUT=0 lifts it.
os.environ.setdefault("DATABASE_STATEMENT_TIMEOUT", str(timeout))

# A worker is replaced after about a thousand requests, so that memory held by large workbooks goes back to the
# system; the jitter keeps the workers from restarting together.
max_requests = 1000
max_requests_jitter = 100

# No control socket (gunicorn 25+ opens one in the user's home by default): systemd starts and stops the server, and
# two servers of one user (a test, a benchmark) would fight over the same path.
control_socket_disable = True

# Logs to standard output and error: journald (systemd) or the terminal keeps them.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
