"""Placeholder views replaced by the UI helper."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render

from reminders.models import Reminder
from reminders.rules import RULE_BY_CODE


@login_required
def reminder_list(request):
    reminders = Reminder.objects.filter(user=request.user)
    return render(request, "reminders/list.html", {"reminders": reminders})


@login_required
def reminder_open(request, pk):
    reminder = get_object_or_404(Reminder, pk=pk, user=request.user)
    return redirect(RULE_BY_CODE[reminder.rule].url(reminder))
