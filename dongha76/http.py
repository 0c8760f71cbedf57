"""Small helpers the views of every app share."""

from collections.abc import Callable
from typing import TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

T = TypeVar("T")


def found_or_404(lookup: Callable[..., T], *args, **kwargs) -> T:
    """Run a selector that looks one object up in the user's scope; "not in your scope" answers 404, like "no such
    object", so that existence is not revealed."""
    try:
        return lookup(*args, **kwargs)
    except ObjectDoesNotExist as error:
        raise Http404 from error


def next_url(request: HttpRequest, default: str) -> str:
    """Where to go after a step: the page it was started from (``next``), when it is on this site; else ``default``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    # A path of this site only: redirect() would take a bare word ("0", "home") for a URL name to reverse.
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default
