"""Settings for bench/pages.py only: the product's settings, served as production serves them (DEBUG off, the same
middleware, context processors and templates), with the bench's URLconf (bench/bare_urls.py: the product's URLs
plus one bare page) and what the in-process test client needs (its host, plain HTTP, static files without a
manifest). Never used by the product."""

import os

os.environ.setdefault("DEBUG", "1")  # read the defaults of a developer's machine first (no secret key needed) ...

from dongha76.settings import *  # noqa: F403

DEBUG = False  # ... then serve as production does: no debug context, templates cached, 404 pages as in production
ROOT_URLCONF = "bench.bare_urls"
ALLOWED_HOSTS = ["testserver"]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
