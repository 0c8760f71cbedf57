"""Who may open what: every URL of the app, for each demo role, against one object inside and one outside the role's
scope. Outside the scope is always 404 (existence is not revealed); inside, a page answers 200 to the roles the
regulation gives it to and 404 to the others.

A URL of the app that has no entry in MATRIX fails the test: a new page must say who may open it.
"""

import datetime
import io

import pytest
from django.urls import get_resolver, reverse
from django.utils import timezone
from openpyxl import Workbook

from api import step_urls
from api.models import ApiToken
from audit.models import AccessLog
from branches.models import Organisation, Restructure
from members.models import (
    Attendance,
    CommentRound,
    Exemption,
    Meeting,
    Member,
    Referral,
    ResidenceComment,
    YearEndRating,
)
from reminders.models import Reminder, ReminderSettings, Rule
from tests.factories import make_member, make_officer, make_referral, make_tree
from workbooks.models import ReportExport, ReportExportChunk, WorkbookImport

D = datetime.date
YEAR = 2024
ROLES = ("thanhuy", "phuong1", "phuong2", "khupho1", "coquan1")
EVERYONE = frozenset(ROLES)
CITY_AND_WARDS = frozenset({"thanhuy", "phuong1", "phuong2"})
CITY_AND_WORKPLACE = frozenset({"thanhuy", "coquan1"})
# who may import workbooks: write posts at the root or at a grassroots organisation (a residential cell may not)
IMPORTERS = CITY_AND_WARDS | {"coquan1"}

# url name -> (the object its URL names, the roles that get 200 for an object inside their scope)
MATRIX: dict[str, tuple[str | None, frozenset[str]]] = {
    "home": (None, EVERYONE),
    "members:member-list": (None, EVERYONE),
    "members:member-export": (None, EVERYONE),
    # the workplace side registers its members; a ward is a workplace too (its agency cell)
    "members:member-create": (None, CITY_AND_WARDS | {"coquan1"}),
    "members:outside-member-register": (None, CITY_AND_WARDS),
    "members:member-detail": ("member", EVERYONE),
    "members:member-edit": ("member", CITY_AND_WORKPLACE),
    "members:exemption-set": ("member", CITY_AND_WORKPLACE),
    "members:exemption-clear": ("member", CITY_AND_WORKPLACE),
    "members:referral-introduce": ("member", CITY_AND_WORKPLACE),
    "members:referral-list": (None, EVERYONE),
    "members:referral-place-many": (None, EVERYONE),  # an empty list for those who place nobody
    "members:referral-detail": ("referral", EVERYONE),
    "members:referral-letter": ("referral", EVERYONE),
    "members:referral-receive": ("referral", CITY_AND_WARDS),
    "members:referral-place": ("referral", CITY_AND_WARDS),
    "members:referral-replace": ("referral", CITY_AND_WARDS),
    # the member reports to the cell: its secretary records it for the members placed in it, as the ward may
    "members:referral-report": ("referral", CITY_AND_WARDS | {"khupho1"}),
    # bulk steps (POST only): the rows ticked must all be the user's to act on
    "members:referral-receive-many": (None, CITY_AND_WARDS),
    "members:referral-end": ("referral", CITY_AND_WARDS | {"coquan1"}),
    "members:cell-list": (None, EVERYONE),
    "members:cell-detail": ("cell", CITY_AND_WARDS | {"khupho1"}),
    "members:tracking-book-index": (None, EVERYONE),
    # meetings of a residential cell: its secretary, the ward's secretary, the city record them; they see them too
    "members:meeting-create": ("cell", CITY_AND_WARDS | {"khupho1"}),
    "members:meeting-detail": ("meeting", CITY_AND_WARDS | {"khupho1"}),
    "members:meeting-edit": ("meeting", CITY_AND_WARDS | {"khupho1"}),
    "members:attendance-mark": ("attendance", CITY_AND_WARDS | {"khupho1"}),
    "members:attendance-all-present": ("meeting", CITY_AND_WARDS | {"khupho1"}),
    # yearly comments: the cell (or its ward, or the city) writes, the ward sends, the workplace receives
    "members:comment-list": ("year", EVERYONE),
    "members:comment-round": ("year", frozenset({"thanhuy"})),
    "members:comment-write": ("comment_to_write", CITY_AND_WARDS | {"khupho1"}),
    "members:comment-edit": ("comment", CITY_AND_WARDS | {"khupho1"}),
    "members:comment-send": ("comment", CITY_AND_WARDS),
    "members:comment-receive": ("sent_comment", CITY_AND_WORKPLACE),
    "members:comment-send-many": ("year", CITY_AND_WARDS),
    # a ward is a workplace too (its agency cell): it records the arrival of its own office members' comments
    "members:comment-receive-many": ("year", CITY_AND_WARDS | {"coquan1"}),
    "members:comment-print": ("comment", EVERYONE),
    "members:cell-comments-print": ("cell_year", CITY_AND_WARDS | {"khupho1"}),
    # the figures of an organisation the user's scope holds
    "reports:figures-api": ("api", EVERYONE),
    "reports:dashboard": (None, EVERYONE),
    "reports:dashboard-org": ("dashboard", EVERYONE),
    "reports:tracking-book-gaps": ("gaps", EVERYONE),  # the dashboard's weak spot 1, listed in full
    "reports:workbook": ("api", EVERYONE),
    # year-end ratings: the member's workplace
    "members:rating-list": ("year", EVERYONE),
    "members:rating-record": ("rating", CITY_AND_WORKPLACE),
    "members:tracking-book": ("book", CITY_AND_WARDS | {"coquan1"}),
    "members:tracking-book-xlsx": ("book", CITY_AND_WARDS | {"coquan1"}),
    # the workbook import: a record is its uploader's (city staff may look at every record)
    "workbooks:import": (None, IMPORTERS),
    "workbooks:template": (None, IMPORTERS),
    "workbooks:columns": (None, IMPORTERS),
    "workbooks:import-detail": ("import", IMPORTERS),
    "workbooks:import-errors": ("import", IMPORTERS),
    "workbooks:import-confirm": ("import", IMPORTERS),  # POST only: a GET inside the scope is 405
    "workbooks:import-undo": ("import", IMPORTERS),  # POST only
    "workbooks:import-progress": ("import", IMPORTERS),
    # a large yearly workbook written in the background: its requester's alone, while the organisation is theirs
    "workbooks:report-export": ("report_export", EVERYONE),
    "workbooks:report-export-progress": ("report_export", EVERYONE),
    "workbooks:report-export-download": ("report_export", EVERYONE),
    # a national ID shown in full (POST only): the member's own committees, the workplace and the receiving ward
    "members:member-national-id": ("member", CITY_AND_WARDS | {"coquan1"}),
    # the access log: city staff only
    "audit:access-log": (None, frozenset({"thanhuy"})),
    # the restructures of the tree: city staff only
    "restructures:restructure-list": (None, frozenset({"thanhuy"})),
    "restructures:restructure-detail": ("restructure", frozenset({"thanhuy"})),
    "restructures:restructure-new": ("restructure_kind", frozenset({"thanhuy"})),
    "restructures:restructure-confirm": ("restructure_kind", frozenset({"thanhuy"})),
    # reminders (issue 14): each user reads, opens and marks their own; the thresholds are the city staff's
    "reminders:list": (None, EVERYONE),
    "reminders:open": ("reminder", EVERYONE),  # marks it read and redirects where the work is done
    "reminders:read": ("reminder", EVERYONE),  # POST only
    "reminders:read-all": (None, EVERYONE),  # POST only
    "reminders:preferences": (None, EVERYONE),
    "reminders:settings": (None, frozenset({"thanhuy"})),
}
# URLs that take no GET: inside the scope a GET answers 405 (outside it, 404 all the same)
POST_ONLY = {
    "members:referral-receive-many",
    "members:attendance-all-present",
    "members:comment-send-many",
    "members:comment-receive-many",
    "workbooks:import-confirm",
    "workbooks:import-undo",
    "members:member-national-id",
    "restructures:restructure-confirm",
    "reminders:read",
    "reminders:read-all",
}
# URLs that answer a GET inside the scope with a redirect
REDIRECTS = {"reminders:open"}
WRITES = {
    "members:member-edit",
    "members:exemption-set",
    "members:exemption-clear",
    "members:referral-introduce",
    "members:referral-receive",
    "members:referral-place",
    "members:referral-replace",
    "members:referral-report",
    "members:referral-end",
    "members:meeting-create",
    "members:meeting-edit",
    "members:attendance-mark",
    "members:attendance-all-present",
    "members:referral-receive-many",
    "members:comment-send-many",
    "members:comment-receive-many",
    "members:comment-round",
    "members:comment-write",
    "members:comment-edit",
    "members:comment-send",
    "members:comment-receive",
    "members:rating-record",
    "workbooks:import-confirm",
    "workbooks:import-undo",
    "members:member-national-id",
    "restructures:restructure-confirm",
    "reminders:read",
    "reminders:settings",
}
APP_NAMESPACES = ("members", "reports", "workbooks", "audit", "restructures", "reminders")


def app_url_names() -> set[str]:
    names = set()
    for pattern in get_resolver().url_patterns:
        if getattr(pattern, "namespace", None) in APP_NAMESPACES:
            names.update(f"{pattern.namespace}:{p.name}" for p in pattern.url_patterns)
    return names | {"home"}


def test_every_url_of_the_app_is_in_the_matrix():
    assert app_url_names() == set(MATRIX)


@pytest.fixture
def world(db):
    """The demo roles on a small tree: the city, two wards, a residential cell of the first, a workplace committee.

    The "inside" member works at the committee, lives in ward 1 and is placed in its first cell; the "outside" one
    works at a grassroots cell and lives in ward 2.
    """
    tree = make_tree()
    users = {
        "thanhuy": make_officer(tree.root, role="staff", username="thanhuy"),
        "phuong1": make_officer(tree.ward1, username="phuong1"),
        "phuong2": make_officer(tree.ward2, username="phuong2"),
        "khupho1": make_officer(tree.ward1_cell1, username="khupho1"),
        "coquan1": make_officer(tree.committee, role="staff", username="coquan1"),
    }
    near = make_member(tree.cell, full_name="Trần Văn Gần", national_id="045060100001")
    far = make_member(tree.grassroots_cell, full_name="Phạm Thị Xa", national_id="045060100002")
    placed = {"received_on": D(2024, 3, 5), "placed_on": D(2024, 3, 6), "introduced_on": D(2024, 3, 1)}
    near_referral = make_referral(
        near,
        receiving_ward=tree.ward1,
        issuing_organisation=tree.committee,
        residential_cell=tree.ward1_cell1,
        **placed,
    )
    far_referral = make_referral(
        far,
        receiving_ward=tree.ward2,
        issuing_organisation=tree.grassroots_cell,
        residential_cell=tree.ward2_cell1,
        **placed,
    )
    meeting_near = Meeting.objects.create(
        residential_cell=tree.ward1_cell1, held_on=D(2024, 6, 1), kind="periodic", year=2024, half=1
    )
    meeting_far = Meeting.objects.create(
        residential_cell=tree.ward2_cell1, held_on=D(2024, 6, 1), kind="periodic", year=2024, half=1
    )

    def comments_on(member, cell):
        written = ResidenceComment.objects.create(
            member=member, year=2023, residential_cell=cell, verdict="good", written_on=D(2023, 11, 20)
        )
        sent = ResidenceComment.objects.create(
            member=member,
            year=2022,
            residential_cell=cell,
            verdict="good",
            written_on=D(2022, 11, 20),
            sent_on=D(2022, 11, 25),
        )
        return {"comment": written, "sent_comment": sent, "comment_to_write": member, "rating": member}

    near_objects = {
        "member": near,
        "referral": near_referral,
        "meeting": meeting_near,
        "attendance": (meeting_near, near),
        **comments_on(near, tree.ward1_cell1),
    }
    far_objects = {
        "member": far,
        "referral": far_referral,
        "meeting": meeting_far,
        "attendance": (meeting_far, far),
        **comments_on(far, tree.ward2_cell1),
    }
    restructure = Restructure.objects.create(kind=Restructure.Kind.RENAME, effective_on=D(2024, 1, 1))
    # what is "inside" and "outside" depends on the role: ward 2's secretary sees the far member, not the near one
    inside = {
        "thanhuy": {**near_objects, "cell": tree.ward1_cell1, "book": tree.root},
        "phuong1": {**near_objects, "cell": tree.ward1_cell1, "book": tree.ward1},
        "phuong2": {**far_objects, "cell": tree.ward2_cell1, "book": tree.ward2},
        "khupho1": {**near_objects, "cell": tree.ward1_cell1, "book": tree.ward1_cell1},
        "coquan1": {**near_objects, "cell": tree.ward1_cell1, "book": tree.committee},
    }
    outside = {
        "phuong1": {**far_objects, "cell": tree.ward2_cell1, "book": tree.ward2},
        "phuong2": {**near_objects, "cell": tree.ward1_cell1, "book": tree.ward1},
        "khupho1": {**far_objects, "cell": tree.ward2_cell1, "book": tree.ward2},
        "coquan1": {**far_objects, "cell": tree.ward2_cell1, "book": tree.grassroots_cell},
    }
    for objects in (*inside.values(), *outside.values()):
        objects["cell_year"] = objects["cell"]
        objects["api"] = objects["dashboard"] = objects["gaps"] = objects["book"]
        objects["restructure"], objects["restructure_kind"] = restructure, "merge"
    # each role's own import record, with a problem and its file (so that the workbook of errors exists); outside:
    # another user's
    imports = {role: checked_import(user) for role, user in users.items()}
    for role in inside:
        inside[role]["import"] = imports[role]
    outside_import = {"phuong1": "phuong2", "phuong2": "phuong1", "khupho1": "phuong1", "coquan1": "phuong1"}
    for role, other in outside_import.items():
        outside[role]["import"] = imports[other]
    # each role's own finished report workbook, of the organisation of its post; outside: another user's
    exports = {role: ready_export(user, inside[role]["book"]) for role, user in users.items()}
    for role in inside:
        inside[role]["report_export"] = exports[role]
    for role, other in outside_import.items():
        outside[role]["report_export"] = exports[other]
    # each role's own reminder; outside: another user's (the same users as for the imports)
    reminders = {role: reminder_for(user) for role, user in users.items()}
    for role in inside:
        inside[role]["reminder"] = reminders[role]
    for role, other in outside_import.items():
        outside[role]["reminder"] = reminders[other]
    return {"users": users, "inside": inside, "outside": outside}


def checked_import(user) -> WorkbookImport:
    book = Workbook()
    book.active.title = "Đảng viên"
    book.active.append(["Số thẻ", "Họ và tên"])
    book.active.append(["1", "Nguyễn Văn Thử"])
    buffer = io.BytesIO()
    book.save(buffer)
    return WorkbookImport.objects.create(
        uploaded_by=user,
        file_name="so.xlsx",
        status=WorkbookImport.Status.CHECKED,
        content=buffer.getvalue(),
        problems=[{"sheet": "Đảng viên", "row": 2, "column": "Số thẻ", "message": "x"}],
        header_rows={"Đảng viên": 1},
    )


def ready_export(user, organisation) -> ReportExport:
    now = timezone.now()
    export = ReportExport.objects.create(
        requested_by=user,
        organisation=organisation,
        year=YEAR,
        as_of=D(YEAR, 6, 30),
        status=ReportExport.Status.READY,
        finished_at=now,
        expires_at=now + datetime.timedelta(days=1),
        size=4,
    )
    ReportExportChunk.objects.create(export=export, index=0, data=b"PK\x03\x04")
    return export


def reminder_for(user) -> Reminder:
    organisation = user.officer_posts.get().organisation
    return Reminder.objects.create(
        user=user,
        organisation=organisation,
        rule=Rule.WEEKLY_DIGEST,
        object_id=organisation.pk,
        step="2024-W10",
        details={"organisation": organisation.name, "day": "2024-03-04", "year": 2024},
        due_on=D(2024, 3, 4),
    )


def snapshot():
    """Every row a write of the app could change."""
    return [
        list(model.objects.order_by("pk").values())
        for model in (
            Referral,
            Meeting,
            Attendance,
            ResidenceComment,
            YearEndRating,
            CommentRound,
            Member,
            Exemption,
            WorkbookImport,
            AccessLog,
            Organisation,
            Restructure,
            Reminder,
            ReminderSettings,
        )
    ]


def url_for(name: str, target: str | None, obj) -> str:
    if target is None:
        return reverse(name)
    if target == "year":
        return reverse(name, args=[YEAR])
    if target in ("comment_to_write", "rating"):
        return reverse(name, args=[YEAR, obj.pk])
    if target == "restructure_kind":
        return reverse(name, args=[obj])
    if target == "dashboard":
        return reverse(name, args=[obj.code])
    if target == "gaps":
        return reverse(name, args=[obj.code, "committees"])
    if target == "api":
        return f"{reverse(name)}?org={obj.code}&as_of=2024-06-30"
    if target == "cell_year":
        return reverse(name, args=[obj.pk, YEAR])
    if target == "book":
        return reverse(name, args=[obj.pk, YEAR])
    if target == "attendance":
        meeting, member = obj
        return reverse(name, args=[meeting.pk, member.pk])
    if name == "members:referral-introduce":
        return reverse(name, kwargs={"member_pk": obj.pk})
    return reverse(name, args=[obj.pk])


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_the_pages_it_should_and_404_elsewhere(client, world, role):
    client.force_login(world["users"][role])
    wrong = []
    for name, (target, allowed) in MATRIX.items():
        inside = world["inside"][role].get(target) if target else None
        expected = (405 if name in POST_ONLY else 302 if name in REDIRECTS else 200) if role in allowed else 404
        got = client.get(url_for(name, target, inside)).status_code
        if got != expected:
            wrong.append(f"{name} inside: expected {expected}, got {got}")
        if target not in (None, "year") and role in world["outside"]:
            outside = world["outside"][role][target]
            got = client.get(url_for(name, target, outside)).status_code
            if got != 404:
                wrong.append(f"{name} outside: expected 404, got {got}")
    assert wrong == []


@pytest.mark.parametrize("role", ["phuong1", "khupho1", "coquan1"])
def test_writes_outside_the_scope_change_nothing(client, world, role):
    client.force_login(world["users"][role])
    before = snapshot()
    for name in sorted(WRITES):
        target = MATRIX[name][0]
        obj = world["outside"][role].get(target)
        response = client.post(
            url_for(name, target, obj),
            {
                "received_on": "10/03/2024",
                "ended_on": "10/03/2024",
                "end_reason": "other",
                "reported_on": "10/03/2024",
                "sent_on": "10/03/2024",
                "status": "present",
                "verdict": "good",
                "written_on": "10/03/2024",
                "level": "good",
                "decided_on": "10/03/2024",
                "deadline": "10/03/2024",
                # the bulk steps: a row outside the scope ticked
                "referrals": world["outside"][role]["referral"].pk,
                "comments": world["outside"][role]["comment"].pk,
                "confirmed": "on",
            },
        )
        assert response.status_code == 404, name
    assert snapshot() == before


def test_anonymous_users_are_sent_to_the_login_page(client, world):
    for name, (target, _allowed) in MATRIX.items():
        obj = world["inside"]["thanhuy"].get(target) if target else None
        response = client.get(url_for(name, target, obj))
        assert response.status_code == 302 and response.url.startswith(reverse("login")), name


def test_only_staff_open_the_admin(client, world):
    client.force_login(world["users"]["thanhuy"])
    world["users"]["thanhuy"].is_staff = True
    world["users"]["thanhuy"].save()
    assert client.get(reverse("admin:index")).status_code == 200
    client.force_login(world["users"]["phuong1"])
    assert client.get(reverse("admin:index")).status_code == 302


# -- the API (issue 15): the same scope as the pages, with a user's key -------------------------------------------
# url name -> (the object its URL names, the roles that get the answer of a user allowed: 200 for a read, 400 for a
# step posted with an empty body, since the step's form then refuses it; everyone else 404, as the pages)
API_MATRIX: dict[str, tuple[str | None, frozenset[str]]] = {
    "api:organisation-list": (None, EVERYONE),
    "api:deletion-list": (None, EVERYONE),
    "api:organisation-detail": ("book", EVERYONE),
    "api:member-list": (None, EVERYONE),
    "api:member-detail": ("member", EVERYONE),
    "api:referral-list": (None, EVERYONE),
    "api:referral-detail": ("referral", EVERYONE),
    "api:meeting-list": (None, EVERYONE),
    "api:meeting-detail": ("meeting", CITY_AND_WARDS | {"khupho1"}),
    "api:comment-list": (None, EVERYONE),
    "api:comment-detail": ("comment", EVERYONE),
    "api:figures": ("api", EVERYONE),
    # the steps: who records each on its page
    "api:referral-introduce": ("member", CITY_AND_WORKPLACE),
    "api:referral-receive": ("referral", CITY_AND_WARDS),
    "api:referral-place": ("referral", CITY_AND_WARDS),
    "api:referral-replace": ("referral", CITY_AND_WARDS),
    "api:referral-report": ("referral", CITY_AND_WARDS | {"khupho1"}),
    "api:referral-end": ("referral", CITY_AND_WARDS | {"coquan1"}),
    "api:meeting-create": ("cell", CITY_AND_WARDS | {"khupho1"}),
    "api:meeting-update": ("meeting", CITY_AND_WARDS | {"khupho1"}),
    "api:attendance-mark": ("attendance", CITY_AND_WARDS | {"khupho1"}),
    "api:attendance-all-present": ("meeting", CITY_AND_WARDS | {"khupho1"}),
    "api:comment-write": ("comment_to_write", CITY_AND_WARDS | {"khupho1"}),
    "api:comment-update": ("comment", CITY_AND_WARDS | {"khupho1"}),
    "api:comment-send": ("comment", CITY_AND_WARDS),
    "api:comment-receive": ("sent_comment", CITY_AND_WORKPLACE),
    "api:rating-record": ("rating", CITY_AND_WORKPLACE),
    "api:exemption-set": ("member", CITY_AND_WORKPLACE),
    "api:exemption-clear": ("member", CITY_AND_WORKPLACE),
}
# answered to anyone, with or without a key: the schema and its description page
API_PUBLIC = {"api:schema", "api:docs"}
# steps that take no body: allowed, an empty one records them (200)
API_NO_BODY = {"api:attendance-all-present", "api:comment-send", "api:comment-receive"}
API_STEPS = {f"api:{pattern.name}" for pattern in step_urls.urlpatterns}


def api_url_names() -> set[str]:
    names = set()
    for pattern in get_resolver().url_patterns:
        if getattr(pattern, "namespace", None) == "api":
            for inner in pattern.url_patterns:
                if getattr(inner, "url_patterns", None) is not None:  # api.step_urls, included without a namespace
                    names.update(f"api:{p.name}" for p in inner.url_patterns)
                elif inner.name:
                    names.add(f"api:{inner.name}")
    return names


def api_url_for(name: str, target: str | None, obj) -> str:
    if target == "book" and name == "api:organisation-detail":
        return reverse(name, args=[obj.pk])
    if target == "api":
        return f"{reverse(name)}?organisation={obj.code}&as_of=2024-06-30"
    if name in ("api:comment-write", "api:rating-record"):
        return reverse(name, args=[YEAR, obj.pk])
    return url_for(name, target, obj)


def test_every_url_of_the_api_is_in_the_matrix():
    assert api_url_names() == set(API_MATRIX) | API_PUBLIC


@pytest.fixture
def api_keys(world):
    return {role: ApiToken.issue(user, "matrix")[1] for role, user in world["users"].items()}


def api_call(client, name: str, url: str, key: str | None):
    """A step is a POST of an (empty) JSON object; a read is a GET."""
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    if name in API_STEPS:
        return client.post(url, data="{}", content_type="application/json", **headers)
    return client.get(url, **headers)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_the_api_it_should_and_404_elsewhere(client, world, api_keys, role):
    wrong = []
    for name, (target, allowed) in API_MATRIX.items():
        step = name in API_STEPS
        inside = world["inside"][role].get(target) if target else None
        expected = (200 if not step or name in API_NO_BODY else 400) if role in allowed else 404
        response = api_call(client, name, api_url_for(name, target, inside), api_keys[role])
        if response.status_code != expected:
            wrong.append(f"{name} inside: expected {expected}, got {response.status_code}")
        if target not in (None, "year") and role in world["outside"]:
            before = snapshot()
            outside = world["outside"][role][target]
            response = api_call(client, name, api_url_for(name, target, outside), api_keys[role])
            if response.status_code != 404:
                wrong.append(f"{name} outside: expected 404, got {response.status_code}")
            if step and snapshot() != before:
                wrong.append(f"{name} outside: a row changed")
    assert wrong == []


def test_the_api_without_a_key_is_401(client, world):
    for name, (target, _allowed) in API_MATRIX.items():
        obj = world["inside"]["thanhuy"].get(target) if target else None
        response = api_call(client, name, api_url_for(name, target, obj), None)
        assert response.status_code == 401, name
    for name in API_PUBLIC:
        assert client.get(reverse(name)).status_code == 200, name
