"""The tracking book (sổ theo dõi): choose an organisation and a year, read or print the book, download it."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.models import AccessLog
from audit.services import record_access
from branches.access import access_for
from branches.models import Organisation
from branches.selectors import visible_organisations
from dongha76.downloads import xlsx_download
from members import books
from members.forms.common import OrganisationPicker
from members.selectors import visible_referrals
from members.views.organisation_options import form_organisation_options


class OrganisationChoiceField(forms.ModelChoiceField):
    widget = OrganisationPicker

    def label_from_instance(self, obj: Organisation) -> str:
        return f"{obj.name} ({obj.get_kind_display()})"


class BookChoiceForm(forms.Form):
    organisation = OrganisationChoiceField(label=_("Organisation"), queryset=Organisation.objects.none())
    year = forms.IntegerField(
        label=_("Year"),
        min_value=books.FIRST_YEAR,
        max_value=books.LAST_YEAR,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(self, *args, organisations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations


@login_required
def book_index(request: HttpRequest) -> HttpResponse:
    """A GET form: the organisations the user may see that keep a book, and a year; it leads to the book."""
    access = access_for(request.user)
    organisations = books.book_organisations(visible_organisations(access))
    if answer := form_organisation_options(request, BookChoiceForm(organisations=organisations)):
        return answer
    if "organisation" in request.GET or "year" in request.GET:
        form = BookChoiceForm(request.GET, organisations=organisations)
        if form.is_valid():
            return redirect(
                "members:tracking-book", pk=form.cleaned_data["organisation"].pk, year=form.cleaned_data["year"]
            )
    else:
        first_post = next((org for org in access.organisations if books.keeps_book(org)), None)
        form = BookChoiceForm(
            initial={"organisation": first_post.pk if first_post else None, "year": timezone.localdate().year},
            organisations=organisations,
        )
    return render(request, "members/book_index.html", {"form": form, "has_choices": organisations.exists()})


def _book(request: HttpRequest, pk: int, year: int) -> books.TrackingBook:
    if not books.FIRST_YEAR <= year <= books.LAST_YEAR:
        raise Http404
    organisations = books.book_organisations(visible_organisations(access_for(request.user)))
    organisation = get_object_or_404(organisations.select_related("parent"), pk=pk)
    return books.tracking_book(
        organisation=organisation, year=year, referrals=visible_referrals(request.user), day=timezone.localdate()
    )


@login_required
def book_detail(request: HttpRequest, pk: int, year: int) -> HttpResponse:
    book = _book(request, pk, year)
    return render(
        request,
        "members/book_detail.html",
        {
            "book": book,
            "book_title": books.BOOK_TITLE,
            "previous_year": year - 1 if year > books.FIRST_YEAR else None,
            "next_year": year + 1 if year < books.LAST_YEAR else None,
            "today": timezone.localdate(),
        },
    )


@login_required
def book_xlsx(request: HttpRequest, pk: int, year: int) -> HttpResponse:
    book = _book(request, pk, year)
    response, rows = xlsx_download(lambda file: books.write_book_workbook(book, file), books.book_filename(book))
    record_access(
        kind=AccessLog.Kind.TRACKING_BOOK,
        by=request.user,
        request=request,
        organisation=book.organisation,
        subject=str(year),
        rows=rows,
    )
    return response


urlpatterns = [
    path("book/", book_index, name="tracking-book-index"),
    path("book/<int:pk>/<int:year>/", book_detail, name="tracking-book"),
    path("book/<int:pk>/<int:year>.xlsx", book_xlsx, name="tracking-book-xlsx"),
]
