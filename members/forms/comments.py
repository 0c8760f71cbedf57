"""Forms of the yearly residence comments and the year-end ratings. They parse and check fields; the rules are the
services'."""

from crispy_forms.helper import FormHelper
from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.forms.common import add_service_errors, date_field
from members.models import ResidenceComment, YearEndRating

CRITERIA = ("keeps_contact", "citizen_example", "attends_meetings", "joins_movements")


class _ServiceForm(forms.Form):
    """A form whose crispy helper renders the fields and no <form> tag (the template owns the tag and buttons)."""

    # Service arguments that are not fields of the form: their errors go to the top of the form.
    TOP_ERRORS = ("member", "year", "residential_cell", "sent_on", "organisation")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # the template's <form> has the token

    def add_service_errors(self, error) -> None:
        top = {name: NON_FIELD_ERRORS for name in self.TOP_ERRORS if name not in self.fields}
        add_service_errors(self, error, top)


class CommentForm(_ServiceForm):
    """The uniform comment form: the same four criteria for everyone, a verdict, free text, the day written."""

    keeps_contact = forms.BooleanField(label=_("Keeps contact with the cell committee"), required=False)
    citizen_example = forms.BooleanField(
        label=_("Sets an example in citizen duties at the place of residence"), required=False
    )
    attends_meetings = forms.BooleanField(label=_("Attends the cell's meetings"), required=False)
    joins_movements = forms.BooleanField(label=_("Takes part in local movements"), required=False)
    verdict = forms.ChoiceField(label=_("Verdict"), choices=ResidenceComment.Verdict.choices, widget=forms.RadioSelect)
    text = forms.CharField(
        label=_("Comment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Strengths, shortcomings, what the cell asks of the member."),
    )
    written_on = date_field(_("Written on"))

    def __init__(self, *args, attendance=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.attendance = attendance
        if attendance is not None:
            self.fields["attends_meetings"].help_text = attendance_text(attendance)


def attendance_text(summary) -> str:
    """ "Attended X of Y periodic meetings in YEAR…": what the attendance sheets say, next to the criterion."""
    if summary.periodic == 0 and summary.ad_hoc == 0:
        return str(_("No meeting of the cell is recorded for %(year)s while the member was placed in it.")) % {
            "year": summary.year
        }
    text = str(
        _(
            "From the attendance sheets: attended %(present)s of %(periodic)s periodic meetings in %(year)s "
            "(%(excused)s excused, %(absent)s absent without reason, %(not_recorded)s not recorded)."
        )
    ) % {
        "present": summary.present,
        "periodic": summary.periodic,
        "year": summary.year,
        "excused": summary.excused,
        "absent": summary.absent,
        "not_recorded": summary.not_recorded,
    }
    if summary.ad_hoc:
        text += " " + str(_("Ad hoc meetings: attended %(present)s of %(total)s.")) % {
            "present": summary.ad_hoc_present,
            "total": summary.ad_hoc,
        }
    return text


def comment_initial(comment: ResidenceComment | None = None, attendance=None) -> dict:
    """The form's initial values: a comment's own, or everything "yes" with the meetings criterion from attendance."""
    if comment is not None:
        return {name: getattr(comment, name) for name in (*CRITERIA, "verdict", "text", "written_on")}
    initial = dict.fromkeys(CRITERIA, True)
    if attendance is not None:
        initial["attends_meetings"] = attendance.attends
    initial["written_on"] = timezone.localdate()
    return initial


class SendForm(_ServiceForm):
    sent_on = date_field(_("Sent to the workplace on"), required=False)

    def clean_sent_on(self):
        return self.cleaned_data.get("sent_on") or timezone.localdate()


class ReceiveForm(_ServiceForm):
    received_on = date_field(_("Received by the workplace on"), required=False)

    def clean_received_on(self):
        return self.cleaned_data.get("received_on") or timezone.localdate()


class CommentRoundForm(_ServiceForm):
    deadline = date_field(_("Deadline for sending the comments"), initial_today=False)


class RatingForm(_ServiceForm):
    level = forms.ChoiceField(label=_("Year-end rating"), choices=[("", "---------"), *YearEndRating.Level.choices])
    decided_on = date_field(_("Decided on"), required=False)

    def clean_decided_on(self):
        return self.cleaned_data.get("decided_on") or timezone.localdate()
