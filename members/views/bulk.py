"""The shape every bulk step of a list shares (issue 13): the rows ticked on the list, a confirmation that names the
count, then one all-or-nothing service call.

The list posts the ticked rows and a day here; the answer is the confirmation page (the day can still be changed
there); its "yes" posts the same rows with ``confirmed``. Each row is looked up in the step's queryset scoped to the
user, before anything else: one row out of it answers 404, like a row that does not exist, whatever else was posted.
"""

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from dongha76.http import next_url
from members.forms.bulk import BULK_AT_ONCE, BulkDayForm, picked_keys, too_many_message


def post_only_for(request: HttpRequest, allowed: bool) -> HttpResponse | None:
    """404 for a user who may never take the step (as for a page out of their scope), then 405 for a GET."""
    if not allowed:
        raise Http404
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    return None


def bulk_step(
    request: HttpRequest,
    *,
    rows: QuerySet,
    field: str,
    day_field: str,
    day_label,
    back: str,
    run: Callable[[list, object], int],
    question: Callable[[int], str],
    confirm_label: str,
    success: Callable[[int], str],
) -> HttpResponse:
    """Read the ticked rows (404 when one is not in ``rows``), then confirm, then ``run(rows, day)`` in one step."""
    keys = picked_keys(request.POST.getlist(field))
    back = next_url(request, back)
    if len(keys) > BULK_AT_ONCE:
        messages.error(request, too_many_message(len(keys)))
        return redirect(back)
    picked = list(rows.filter(pk__in=keys).select_related("member").order_by("member__search_name", "pk"))
    if len(picked) != len(keys):
        raise Http404
    if not picked:
        messages.warning(request, _("Tick at least one row first."))
        return redirect(back)
    form = BulkDayForm(request.POST, day_field=day_field, day_label=day_label)
    if form.is_valid() and form.cleaned_data["confirmed"]:
        try:
            count = run(picked, form.day)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, success(count))
            return redirect(back)
    return render(
        request,
        "members/bulk_confirm.html",
        {
            "form": form,
            "day": form[day_field],
            "rows": picked,
            "count": len(picked),
            "field": field,
            "question": question(len(picked)),
            "confirm_label": confirm_label,
            "back": back,
        },
    )
