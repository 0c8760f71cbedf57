"""The list pages draw their rows in Python (``dongha76.tables.Table.rendered_rows``) and their filters' selects in
Python (``members.filters.Select``), for speed (issue 15). What users, tests and scripts see must not change: each
page's rows are compared here with what django-tables2's own row template draws for the very same table, and each
select with what Django's widget templates draw, through the real pages and permissions.
"""

import datetime
import itertools
import re

import django_tables2 as tables
import pytest
from django import forms
from django.template import Context, Template
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from audit.models import AccessLog
from audit.services import record_access
from branches.models import Organisation
from dongha76.tables import Table
from members.filters import Select
from members.models import Exemption, ResidenceComment, YearEndRating
from tests.factories import make_member, make_officer, make_referral

pytestmark = pytest.mark.django_db

D = datetime.date
YEAR = 2025

# django-tables2's row, as templates/django_tables2/cards.html drew it before the rows were drawn in Python.
DJANGO_TABLES2_ROWS = Template(
    "{% load l10n %}{% for row in table.paginated_rows %}"
    "<tr {{ row.attrs.as_html }}>{% for column, cell in row.items %}"
    '<td {{ column.attrs.td.as_html }} data-label="{{ column.header }}">'
    "{% if column.localize == None %}{{ cell }}{% else %}{% if column.localize %}{{ cell|localize }}"
    "{% else %}{{ cell|unlocalize }}{% endif %}{% endif %}</td>"
    "{% endfor %}</tr>{% endfor %}"
)
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def normalised(html: str) -> str:
    """Whitespace between tags and each form's CSRF token (a new mask each time) set aside."""
    html = CSRF.sub("CSRF", html)
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", html)).strip()


def drawn_by_django_tables2(table) -> str:
    table._counter = itertools.count()  # the rows' even/odd classes start again
    return DJANGO_TABLES2_ROWS.render(Context({"table": table}))


def drawn_here(table) -> str:
    table._counter = itertools.count()
    return "".join(table.rendered_rows())


def assert_rows_as_django_tables2(response) -> int:
    """The page's table draws what django-tables2 draws, and the page shows it; returns the number of rows."""
    assert response.status_code == 200
    table = response.context["table"]
    ours = drawn_here(table)
    assert normalised(ours) == normalised(drawn_by_django_tables2(table))
    assert normalised(ours) in normalised(response.content.decode())
    return len(table.paginated_rows)


@pytest.fixture
def data(tree):
    """Members in every state of a referral, comments in every state, ratings, an access log entry."""
    cell1, cell2 = tree.ward1_cell1, tree.ward1_cell2

    def placed(cell, name, home=tree.cell, **fields):
        member = make_member(home, full_name=name, date_of_birth=D(1970, 5, 17))
        return make_referral(
            member,
            receiving_ward=cell.parent,
            residential_cell=cell,
            introduced_on=D(2025, 2, 1),
            received_on=D(2025, 2, 1),
            placed_on=D(2025, 2, 15),
            **fields,
        )

    rows = [
        placed(cell1, 'An Văn <Một> & "Hai"'),  # escaped everywhere
        placed(cell1, "Bế Thị Viết"),
        placed(cell2, "Cao Văn Gửi", reported_on=D(2025, 3, 1)),
        placed(cell2, "Đinh Văn Nhận"),
        placed(tree.ward2_cell1, "Lý Thị Xa", home=tree.grassroots_cell),
    ]
    make_referral(make_member(tree.cell, full_name="Hà Văn Chờ"), receiving_ward=tree.ward1)  # awaiting reception
    make_member(tree.cell, full_name="Kiều Văn Chưa")  # not introduced
    make_member(tree.cell, full_name="Lê Văn Hưu", retired_on=D(2020, 1, 1))
    exempt = make_member(tree.cell, full_name="Hồ Văn Miễn")
    Exemption.objects.create(member=exempt, kind=Exemption.Kind.INTRODUCTION, reason="Ốm", started_on=D(2024, 1, 1))
    make_member(tree.ward1_cell1, full_name="Mai Thị Phường")

    def comment(referral, **fields):
        fields.setdefault("verdict", "good")
        return ResidenceComment.objects.create(
            member=referral.member,
            year=YEAR,
            residential_cell=referral.residential_cell,
            written_on=D(2025, 11, 10),
            **fields,
        )

    comment(rows[1])
    comment(rows[2], sent_on=D(2025, 12, 5), verdict="limited")
    comment(rows[3], sent_on=D(2025, 11, 15), received_on=D(2025, 11, 25), verdict="fair")
    YearEndRating.objects.create(member=rows[2].member, year=YEAR, level="good", decided_on=D(2025, 12, 20))
    YearEndRating.objects.create(member=rows[3].member, year=YEAR, level="fulfilled", decided_on=D(2025, 12, 20))
    city = make_officer(tree.root, role="staff")
    record_access(kind=AccessLog.Kind.MEMBER_EXPORT, by=city, organisation=tree.ward1, subject="<b>", rows=3)
    record_access(kind=AccessLog.Kind.NATIONAL_ID_SHOWN, by=None, subject="00000001", rows=1)
    return {
        "city": city,
        "ward": make_officer(tree.ward1),
        "cell": make_officer(tree.ward1_cell1),
        "workplace": make_officer(tree.committee, role="staff"),
    }


LISTS = [
    reverse("members:member-list"),
    reverse("members:member-list") + "?sort=-referral_state",
    reverse("members:member-list") + "?status=all&sort=working",
    reverse("members:referral-list"),
    reverse("members:referral-list") + "?state=awaiting_reception",  # with the bulk reception's ticks
    reverse("members:referral-list") + "?sort=-received_on",
    reverse("members:cell-list"),
    reverse("members:comment-list", args=[YEAR]),
    reverse("members:comment-list", args=[YEAR]) + "?state=written",  # with the bulk sending's ticks
    reverse("members:comment-list", args=[YEAR]) + "?state=sent",  # with the bulk reception's ticks
    reverse("members:rating-list", args=[YEAR]),
    reverse("members:member-list") + "?q=nobody-is-called-this",  # the empty text
]


@pytest.mark.parametrize("role", ["city", "ward", "cell", "workplace"])
def test_every_list_draws_the_rows_django_tables2_draws(client, data, role):
    client.force_login(data[role])
    drawn = 0
    for url in LISTS:
        response = client.get(url)
        if response.status_code == 404:  # a list this role does not have (ratings: the workplace's and the city's)
            continue
        drawn += assert_rows_as_django_tables2(response)
    assert drawn > 10


def test_the_access_log_draws_the_rows_django_tables2_draws(client, data):
    client.force_login(data["city"])
    assert assert_rows_as_django_tables2(client.get(reverse("audit:access-log"))) == 2


def test_an_empty_list_shows_its_empty_text(client, data):
    client.force_login(data["ward"])
    response = client.get(reverse("members:member-list"), {"q": "nobody-is-called-this"})
    assert normalised('<tbody ><tr><td colspan="6">Không có đảng viên nào phù hợp.</td></tr></tbody>') in normalised(
        response.content.decode()
    )


def collapsed(html: str) -> str:
    """Stricter than ``normalised``: only runs of whitespace are made one space (a space between two badges shows)."""
    return re.sub(r"\s+", " ", CSRF.sub("CSRF", html)).strip()


@pytest.mark.parametrize("role", ["city", "workplace"])
def test_a_ratings_row_is_the_rating_cell_the_form_answers_with(client, data, role):
    """The ratings page draws each rating cell in Python; the inline form's answer renders members/rating_cell.html:
    both the same HTML, the form and its CSRF token included."""
    client.force_login(data[role])
    response = client.get(reverse("members:rating-list", args=[YEAR]))
    table = response.context["table"]
    assert len(table.paginated_rows) >= 2
    for row in table.paginated_rows:
        record = row.record
        context = {
            "record": record,
            "year": YEAR,
            "may_rate": table.permissions.may_rate(record.home_organisation),
            "filters": table.filters,
            "levels": YearEndRating.Level.choices,
            "today": timezone.localdate(),
        }
        template = render_to_string("members/rating_cell.html", context, request=response.wsgi_request)
        assert collapsed(table.render_rating_level(record)) == collapsed(template)
        assert ('name="csrfmiddlewaretoken"' in template) == context["may_rate"]


# -- the machinery on columns the project's tables do not use (yet) ---------------------------------------------------


class Everything(Table):
    """A column of each kind the fast drawing handles or hands back to django-tables2."""

    code = tables.Column(linkify=lambda record: f"/o/{record.pk}/")
    name = tables.Column(attrs={"td": {"class": "x", "data-len": lambda value: len(str(value))}})
    kind = tables.Column()  # a choices field: its label
    valid_from = tables.DateColumn(short=False)
    valid_to = tables.DateColumn()  # empty: the default
    number = tables.Column(accessor="pk", localize=True)
    unlocalised = tables.Column(accessor="pk", localize=False)
    parent = tables.Column(accessor="parent__name", default="(none)")
    template = tables.TemplateColumn("<b>{{ record.code }}</b>")
    missing = tables.Column(accessor="no__such__thing")
    rendered = tables.Column(accessor="code", empty_values=())

    class Meta:
        row_attrs = {"data-code": lambda record: record.code, "class": "r"}

    def render_rendered(self, value, record, bound_row):
        return f"{value}:{bound_row.row_counter}:{record.kind}"


def test_every_kind_of_column_draws_as_django_tables2(tree):
    Organisation.objects.filter(pk=tree.ward1.pk).update(name="<Phường & 1>")
    table = Everything(Organisation.objects.order_by("pk"))
    table.request = RequestFactory().get("/")
    html = drawn_here(table)
    assert normalised(html) == normalised(drawn_by_django_tables2(table))
    assert "&lt;Phường &amp; 1&gt;" in html


def test_a_table_over_a_list_draws_as_django_tables2():
    class Plain(Table):
        name = tables.Column()
        day = tables.DateColumn()

    table = Plain([{"name": "<a>", "day": D(2025, 1, 2)}, {"name": "b", "day": None}])
    assert normalised(drawn_here(table)) == normalised(drawn_by_django_tables2(table))


@pytest.mark.parametrize(
    "choices, value",
    [
        ([("", "Tất cả"), ("a", "A <b>"), ("b&c", 'Có "ngoặc"')], "b&c"),
        ([("", "Tất cả"), (1, "Một"), (2, "Hai")], None),
        ([("Nhóm", [("x", "X"), ("y", "Y")]), ("z", "Z")], "y"),  # option groups: Django's templates
    ],
)
def test_a_filters_select_is_djangos_select(choices, value):
    attrs = {"class": "form-select", "id": "id_f", "data-x": True, "hidden": False}
    ours = Select(attrs=attrs, choices=choices).render("f", value)
    assert ours == forms.Select(attrs=attrs, choices=choices).render("f", value)
