"""Dates a phone user can type (issue 13): every form ``parse_day`` accepts, every one it refuses with its message
(a date that does not exist is not a badly written one), the two-digit year window, the box a phone shows, and one
real view: the ward receiving a referral."""

import datetime

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse

from dongha76.dates import IMPOSSIBLE_MESSAGE, INVALID_MESSAGE, DayField, DayInput, parse_day
from members.models import Referral
from tests.factories import make_member, make_officer, make_referral, make_tree

D = datetime.date
TODAY = D(2026, 11, 30)


# -- the parser --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("02/12/2026", D(2026, 12, 2)),
        ("2/12/2026", D(2026, 12, 2)),
        ("2/1/2026", D(2026, 1, 2)),
        ("02122026", D(2026, 12, 2)),
        ("021226", D(2026, 12, 2)),
        ("02.12.2026", D(2026, 12, 2)),
        ("2.1.2026", D(2026, 1, 2)),
        ("02-12-2026", D(2026, 12, 2)),
        ("2-1-2026", D(2026, 1, 2)),
        ("02,12,2026", D(2026, 12, 2)),  # the decimal keypad of a Vietnamese iPhone offers "," only
        ("02/12/26", D(2026, 12, 2)),
        ("2.12.26", D(2026, 12, 2)),
        ("2026-12-02", D(2026, 12, 2)),  # a native date picker, the existing links
        ("  02/12/2026 ", D(2026, 12, 2)),
        ("\t02122026\n", D(2026, 12, 2)),
        ("29/02/2024", D(2024, 2, 29)),
        ("31/12/1930", D(1930, 12, 31)),
    ],
)
def test_every_accepted_form_gives_the_right_day(text, day):
    assert parse_day(text, today=TODAY) == day


@pytest.mark.parametrize(
    ("year", "full"),
    [("26", 2026), ("00", 2000), ("36", 2036), ("37", 1937), ("65", 1965), ("99", 1999)],
)
def test_a_two_digit_year_is_at_most_ten_years_ahead(year, full):
    assert parse_day(f"01/01/{year}", today=TODAY) == D(full, 1, 1)
    assert parse_day(f"0101{year}", today=TODAY) == D(full, 1, 1)


def test_the_two_digit_year_window_follows_today():
    assert parse_day("01/01/37", today=D(2027, 1, 1)) == D(2037, 1, 1)
    assert parse_day("01/01/38", today=D(2027, 1, 1)) == D(1938, 1, 1)


@pytest.mark.parametrize("text", ["", "   ", None])
def test_nothing_typed_is_no_day(text):
    assert parse_day(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "31/02/2026",
        "29/02/2025",
        "00/05/2026",
        "12/13/2026",
        "32/01/2026",
        "31022026",
        "310226",
        "31.04.2026",
        "31-04-26",
        "2026-02-30",
        "2020-13-01",
        "0000-01-01",
    ],
)
def test_a_well_formed_day_that_does_not_exist_is_impossible(text):
    with pytest.raises(ValidationError) as raised:
        parse_day(text, today=TODAY)
    assert raised.value.code == "impossible"
    assert raised.value.messages == [str(IMPOSSIBLE_MESSAGE)]


@pytest.mark.parametrize(
    "text",
    [
        "hôm qua",
        "2/12",
        "2122026",  # 7 digits: 2/12/2026 or 21/2/2026?
        "02/12-2026",  # two different separators
        "02/12/226",
        "02/12/20266",
        "2026/12/02",
        "2026-1-2",
        "02 12 2026",
        "02//12/2026",
        "+2/12/2026",
        "٠٢/١٢/٢٠٢٦",  # Arabic-Indic digits
        "02/12/2026 10:00",
        "１２/１２/２０２６",  # full-width digits
    ],
)
def test_anything_else_is_malformed(text):
    with pytest.raises(ValidationError) as raised:
        parse_day(text, today=TODAY)
    assert raised.value.code == "invalid"
    assert raised.value.messages == [str(INVALID_MESSAGE)]


# -- the field and its box ---------------------------------------------------------------------------------------------


class OneDay(forms.Form):
    day = DayField(label="Day")
    note = forms.CharField(required=True)


def test_the_field_reads_a_day_and_says_why_it_cannot():
    field = DayField()
    assert field.clean("02122026") == D(2026, 12, 2)
    assert field.clean(D(2026, 12, 2)) == D(2026, 12, 2)
    for text, code in [("31/02/2026", "impossible"), ("hôm qua", "invalid"), ("01/01/1800", "day_out_of_bounds")]:
        with pytest.raises(ValidationError) as raised:
            field.clean(text)
        assert raised.value.code == code
    with pytest.raises(ValidationError) as raised:
        field.clean("31/02/2026")
    assert raised.value.messages == [str(DayField.default_error_messages["impossible"])]


def test_the_field_keeps_its_bounds():
    field = DayField(first=D(2000, 1, 1), last=D(2030, 12, 31))
    assert field.clean("01/01/2000") == D(2000, 1, 1)
    with pytest.raises(ValidationError) as raised:
        field.clean("31/12/1999")
    assert raised.value.code == "day_out_of_bounds"


def test_the_box_opens_a_keypad_with_a_separator_and_shows_dd_mm_yyyy():
    html = OneDay(initial={"day": D(2026, 12, 2)})["day"].as_widget()
    assert 'type="text"' in html
    assert 'inputmode="decimal"' in html
    assert 'autocomplete="off"' in html
    assert 'placeholder="dd/mm/yyyy"' in html
    assert 'value="02/12/2026"' in html
    assert 'name="day"' in html and 'id="id_day"' in html


def test_a_day_typed_without_separators_comes_back_dd_mm_yyyy_when_another_field_is_wrong():
    form = OneDay(data={"day": "02122026", "note": ""})
    assert not form.is_valid() and "day" not in form.errors
    assert 'value="02/12/2026"' in form["day"].as_widget()


def test_a_malformed_day_comes_back_as_typed():
    form = OneDay(data={"day": "02/12-2026", "note": "x"})
    assert not form.is_valid()
    assert 'value="02/12-2026"' in form["day"].as_widget()


def test_the_widget_keeps_attributes_given_to_it():
    html = DayInput(attrs={"class": "form-control"}).render("d", None)
    assert 'class="form-control"' in html and 'inputmode="decimal"' in html


# -- through a real view: the ward receives a referral ----------------------------------------------------------------


@pytest.fixture
def tree():
    return make_tree()


@pytest.fixture
def receiving(client, tree):
    member = make_member(tree.cell, admitted_on=D(2010, 5, 1))
    referral = make_referral(
        member, receiving_ward=tree.ward1, issuing_organisation=tree.committee, introduced_on=D(2024, 3, 1)
    )
    client.force_login(make_officer(tree.ward1))
    return referral, reverse("members:referral-receive", args=[referral.pk])


@pytest.mark.django_db
def test_the_ward_receives_with_a_date_typed_as_digits_only(client, receiving):
    referral, url = receiving
    response = client.post(url, {"received_on": "15032024"})
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.received_on == D(2024, 3, 15)


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["15.03.2024", "15-03-2024", "15,3,24", "15/3/24"])
def test_the_ward_receives_with_dots_dashes_commas_or_a_short_year(client, receiving, text):
    referral, url = receiving
    assert client.post(url, {"received_on": text}).status_code == 302
    referral.refresh_from_db()
    assert referral.received_on == D(2024, 3, 15)


@pytest.mark.django_db
def test_an_impossible_day_re_renders_the_form_with_its_own_message_and_changes_nothing(client, receiving):
    referral, url = receiving
    response = client.post(url, {"received_on": "31/02/2024"})
    assert response.status_code == 200
    errors = response.context["form"].errors.as_data()["received_on"]
    assert [error.code for error in errors] == ["impossible"]
    assert str(DayField.default_error_messages["impossible"]) in response.content.decode()
    assert 'value="31/02/2024"' in response.content.decode()
    referral.refresh_from_db()
    assert referral.received_on is None
    assert Referral.objects.filter(received_on__isnull=False).count() == 0


@pytest.mark.django_db
def test_a_malformed_day_keeps_the_dd_mm_yyyy_message(client, receiving):
    referral, url = receiving
    response = client.post(url, {"received_on": "15/03"})
    assert response.status_code == 200
    assert [error.code for error in response.context["form"].errors.as_data()["received_on"]] == ["invalid"]
    assert "Nhập ngày theo dạng dd/mm/yyyy." in response.content.decode()
    referral.refresh_from_db()
    assert referral.received_on is None


@pytest.mark.django_db
def test_the_impossible_day_message_is_vietnamese(client, receiving):
    _, url = receiving
    response = client.post(url, {"received_on": "31/02/2024"})
    assert "Ngày không tồn tại" in response.content.decode()
