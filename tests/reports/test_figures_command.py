"""``python manage.py figures --org CODE --as-of YYYY-MM-DD [--year YYYY] [--json]``: one JSON object with the
report's keys plus ``organisation`` and ``as_of``, or a readable table; a clear error for an unknown organisation or a
bad date."""

import datetime
import io
import json

import pytest
from django.core.management import CommandError, call_command

from members.models import Referral
from reports.report import build_report, report_as_json
from tests.factories import make_member, make_referral, make_tree

pytestmark = pytest.mark.django_db

D = datetime.date
DAY = D(2018, 9, 30)

KEYS = {
    "organisation",
    "as_of",
    "members",
    "grassroots_organisations",
    "subordinate_cells",
    "residential_cells",
    "eligible",
    "introduced",
    "referral_rate",
    "received",
    "received_from_outside",
    "awaiting_reception",
    "awaiting_placement",
    "stalled",
    "irregular_attendees",
    "meetings",
    "comments",
    "tracking_book",
    "by_grassroots_organisation",
    "by_sector",
    "by_ward_and_cell",
    "endings_by_reason",
}


@pytest.fixture
def tree():
    tree = make_tree()
    for _ in range(2):
        make_referral(make_member(tree.cell), receiving_ward=tree.ward1, introduced_on=D(2018, 3, 1))
    make_member(tree.grassroots_cell)
    make_referral(
        make_member(tree.outside),
        receiving_ward=tree.ward2,
        issuing_organisation=tree.outside,
        introduced_on=D(2018, 2, 1),
        received_on=D(2018, 2, 10),
    )
    make_referral(
        make_member(tree.ward1_cell1),
        receiving_ward=tree.ward2,
        introduced_on=D(2017, 2, 1),
        ended_on=D(2018, 4, 1),
        end_reason=Referral.EndReason.DIED,
    )
    return tree


def figures(**options) -> str:
    out = io.StringIO()
    call_command("figures", stdout=out, **options)
    return out.getvalue()


def test_json_is_one_object_with_the_keys(tree):
    output = figures(org=tree.root.code, as_of="2018-09-30", json=True)
    data = json.loads(output)  # one object, nothing else printed
    assert isinstance(data, dict)
    assert set(data) >= KEYS
    assert data["organisation"] == {"code": tree.root.code, "name": tree.root.name}
    assert data["as_of"] == "2018-09-30"
    assert (data["members"], data["eligible"], data["introduced"], data["referral_rate"]) == (4, 3, 2, 66.7)
    assert (data["received"], data["received_from_outside"], data["stalled"]) == (1, 1, 2)  # the outsider's
    assert data["endings_by_reason"] == {"died": 1}
    assert data["comments"]["year"] == 2018


def test_json_holds_the_reports_numbers(tree):
    data = json.loads(figures(org=tree.ward2.code, as_of="2018-09-30", json=True))
    assert data == json.loads(json.dumps(report_as_json(build_report(tree.ward2, DAY))))
    assert data["organisation"]["code"] == tree.ward2.code
    assert (data["members"], data["received_from_outside"], data["referral_rate"]) == (0, 1, None)


def test_json_keeps_vietnamese_letters(tree):
    assert "Đảng bộ thành phố Đông Hà" in figures(org=tree.root.code, as_of="2018-09-30", json=True)


def test_the_year_of_the_comment_round(tree):
    data = json.loads(figures(org=tree.root.code, as_of="2018-09-30", year=2017, json=True))
    assert data["comments"]["year"] == 2017
    assert data["comments"]["deadline"] == "2017-11-30"
    assert data["as_of"] == "2018-09-30"


def test_the_command_line_form(tree):
    out = io.StringIO()
    call_command("figures", "--org", tree.root.code, "--as-of", "2018-09-30", "--json", stdout=out)
    assert json.loads(out.getvalue())["members"] == 4


def test_without_json_a_readable_table(tree):
    output = figures(org=tree.root.code, as_of="2018-09-30")
    with pytest.raises(json.JSONDecodeError):
        json.loads(output)
    lines = output.splitlines()
    assert lines[0] == f"{tree.root.name} ({tree.root.code}) as of 30/09/2018"
    table = {
        line.split()[0]: line.split()[1] for line in lines[1:] if not line.strip().startswith(("meetings", "comm"))
    }
    assert table["members"] == "4"
    assert table["eligible"] == "3"
    assert table["introduced"] == "2"
    assert table["referral_rate"] == "66.7"
    assert table["received_from_outside"] == "1"
    assert "  meetings 2018-H1" in output
    assert "0 of 4 cells" in output
    assert "  comments 2018" in output


def test_the_table_shows_a_dash_for_no_rate(tree):
    output = figures(org=tree.ward1.code, as_of="2018-09-30")
    assert any(line.split() == ["referral_rate", "-"] for line in output.splitlines())


@pytest.mark.parametrize("code", ["NOPE", ""])
def test_an_unknown_organisation_is_a_command_error(tree, code):
    with pytest.raises(CommandError, match=rf"No organisation has the code '{code}'"):
        figures(org=code, as_of="2018-09-30", json=True)


@pytest.mark.parametrize("as_of", ["30/09/2018", "2018-02-30", "today", ""])
def test_a_bad_date_is_a_command_error(tree, as_of):
    with pytest.raises(CommandError, match=r"--as-of must be a date YYYY-MM-DD") as error:
        figures(org=tree.root.code, as_of=as_of, json=True)
    assert repr(as_of) in str(error.value)


def test_org_and_as_of_are_required(tree):
    with pytest.raises(CommandError, match="--org"):
        call_command("figures", "--as-of", "2018-09-30", stdout=io.StringIO())
    with pytest.raises(CommandError, match="--as-of"):
        call_command("figures", "--org", tree.root.code, stdout=io.StringIO())
