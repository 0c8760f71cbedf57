"""The reminders in the app: the list behind the bell, opening one (read, then on to where the work is done), marking
read, how the user wants them by e-mail, and the city staff's thresholds.

A reminder of someone else, or of a post the user no longer holds, answers 404 like one that does not exist.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from dongha76.http import found_or_404, next_url
from reminders import texts
from reminders.delivery import delivery_of
from reminders.forms import PreferenceForm, ThresholdsForm
from reminders.models import Reminder, Rule
from reminders.rules import RULE_BY_CODE
from reminders.selectors import (
    OPEN,
    SHOWN,
    reminder_list,
    reminder_of,
    sets_reminder_thresholds,
    thresholds_history,
    thresholds_of,
    thresholds_root,
    thresholds_version,
    visible_reminders,
)
from reminders.services import (
    close_gone_for,
    reminder_preference_set,
    reminder_settings_set,
    reminders_mark_read,
)

PER_PAGE = 50


def _item(reminder: Reminder) -> dict:
    return {
        "reminder": reminder,
        "title": texts.title(reminder),
        "sentence": texts.sentence(reminder),
        "lines": texts.digest_lines(reminder) if reminder.rule == Rule.WEEKLY_DIGEST else [],
        "closed_because": texts.closed_because(reminder),
    }


@login_required
@require_GET
def reminder_list_view(request: HttpRequest) -> HttpResponse:
    # A reminder whose cause is gone (the referral was received) closes itself when the user looks.
    close_gone_for(request.user, day=timezone.localdate())
    shown = request.GET.get("show", OPEN)
    if shown not in SHOWN:
        shown = OPEN
    page = Paginator(reminder_list(request.user, shown=shown), PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "reminders/list.html",
        {
            "page": page,
            "items": [_item(reminder) for reminder in page.object_list],
            "shown": shown,
            "sets_thresholds": sets_reminder_thresholds(request.user),
        },
    )


@login_required
@require_GET
def reminder_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark it read and go where the work is done (the link of the list and of the e-mails)."""
    reminder = found_or_404(reminder_of, request.user, pk)
    reminders_mark_read(reminders=Reminder.objects.filter(pk=reminder.pk))
    return redirect(RULE_BY_CODE[reminder.rule].url(reminder))


@login_required
def reminder_read(request: HttpRequest, pk: int) -> HttpResponse:
    reminder = found_or_404(reminder_of, request.user, pk)  # 404 before 405: existence is not revealed
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    reminders_mark_read(reminders=Reminder.objects.filter(pk=reminder.pk))
    return redirect(next_url(request, reverse("reminders:list")))


@login_required
@require_http_methods(["POST"])
def reminder_read_all(request: HttpRequest) -> HttpResponse:
    count = reminders_mark_read(reminders=visible_reminders(request.user).filter(closed_on__isnull=True))
    if count:
        messages.success(request, _("Every reminder is marked read."))
    return redirect(next_url(request, reverse("reminders:list")))


@login_required
@require_http_methods(["GET", "POST"])
def reminder_preferences(request: HttpRequest) -> HttpResponse:
    user = request.user
    initial = {"email": user.email, "delivery": delivery_of(user)}
    form = PreferenceForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        reminder_preference_set(user=user, **form.cleaned_data)
        messages.success(request, _("Your e-mail preference is saved."))
        return redirect("reminders:preferences")
    return render(request, "reminders/preferences.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def reminder_settings(request: HttpRequest) -> HttpResponse:
    """The city staff set the thresholds of their root's reminders; everyone else gets 404, as for the other pages
    of the city."""
    root = thresholds_root(request.user) if sets_reminder_thresholds(request.user) else None
    if root is None:
        raise Http404
    settings = thresholds_of(root)
    shown = {"version": thresholds_version(root)}
    form = ThresholdsForm(request.POST if request.method == "POST" else None, instance=settings, initial=shown)
    if request.method == "POST" and form.is_valid():
        try:
            reminder_settings_set(
                settings=form.save(commit=False), by=request.user, version=form.cleaned_data["version"]
            )
        except ValidationError as error:
            # What is saved now, with the reason on top: the user makes their change again on the real values.
            messages.error(request, " ".join(error.messages))
            settings = thresholds_of(root)
            form = ThresholdsForm(instance=settings, initial={"version": thresholds_version(root)})
        else:
            messages.success(request, _("The thresholds of the reminders are saved."))
            return redirect("reminders:settings")
    return render(
        request,
        "reminders/settings.html",
        {"form": form, "root": root, "saved": settings.pk is not None, "history": thresholds_history(settings)},
    )
