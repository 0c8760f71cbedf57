"""The demo data: the seed article's figures as of 30/09/2018, determinism, refusal on a non-empty database, the demo
users, and the imperfections the article names (so that every later screen has something true to show).

Seeding takes some seconds, so it runs once for the module; each test still runs in its own rolled-back transaction.
"""

import datetime
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count, Exists, F, OuterRef, Q
from django.urls import reverse

from branches.models import Officer, Organisation
from members.demo.builder import DEMO_PASSWORD, QUIET_COMMITTEES, QUIET_WARDS
from members.models import Attendance, Exemption, Meeting, Member, MemberHome, Referral, ResidenceComment
from tests.conftest import DEMO_TODAY as TODAY
from tests.conftest import fingerprint

pytestmark = pytest.mark.slow

D = datetime.date
SEED_DAY = D(2018, 9, 30)


@pytest.mark.django_db
def test_the_seed_article_figures_as_of_30_09_2018(demo):
    day = SEED_DAY
    root = Organisation.objects.get(kind="root")
    in_tree = Q(path__startswith=root.path)
    valid = Q(valid_from__lte=day) & (Q(valid_to__isnull=True) | Q(valid_to__gt=day))
    organisations = Organisation.objects.filter(in_tree, valid)
    # Written out here, apart from the app's definitions: the home of the day, from the dated home history.
    homes_on_day = MemberHome.objects.filter(
        Q(member=OuterRef("pk"), started_on__lte=day), Q(ended_on__isnull=True) | Q(ended_on__gt=day)
    )
    members = Member.objects.filter(
        Exists(homes_on_day.filter(organisation__path__startswith=root.path)),
        Q(admitted_on__lte=day),
        Q(left_on__isnull=True) | Q(left_on__gt=day),
    )
    exempt_from_introduction = Exemption.objects.filter(
        Q(member=OuterRef("pk"), kind="introduction", started_on__lte=day),
        Q(ended_on__isnull=True) | Q(ended_on__gt=day),
    )
    eligible = (
        members.filter(Q(retired_on__isnull=True) | Q(retired_on__gt=day))
        .filter(Exists(homes_on_day.exclude(organisation__kind__in=["residential_cell", "outside"])))
        .exclude(Exists(exempt_from_introduction))
    )
    active = Q(introduced_on__lte=day) & (Q(ended_on__isnull=True) | Q(ended_on__gt=day))
    introduced = eligible.filter(Exists(Referral.objects.filter(active, member=OuterRef("pk"))))
    member_homes_on_day = MemberHome.objects.filter(
        Q(member=OuterRef("member"), started_on__lte=day), Q(ended_on__isnull=True) | Q(ended_on__gt=day)
    )
    received_from_outside = Referral.objects.filter(
        active,
        Exists(member_homes_on_day.exclude(organisation__path__startswith=root.path)),
        received_on__lte=day,
        receiving_ward__path__startswith=root.path,
    )
    # Working at a workplace cell that day, retired into a residential cell since: eligible as of that day.
    retired_later = eligible.filter(retired_on__gt=day, home_organisation__kind="residential_cell")

    assert members.count() == 6150
    assert organisations.filter(kind__in=["committee", "grassroots_cell", "ward"]).count() == 35
    assert organisations.filter(kind__in=["cell", "residential_cell"]).count() == 233
    assert organisations.filter(kind="residential_cell").count() == 83
    assert eligible.count() == 2142
    assert introduced.count() == 2127
    assert round(100 * introduced.count() / eligible.count(), 1) == 99.3
    assert received_from_outside.count() == 3558
    assert retired_later.count() == 312


@pytest.mark.django_db
def test_the_nine_wards_before_2025_with_their_residential_cells(demo):
    wards = Organisation.objects.filter(kind="ward").annotate(
        cells=Count("children", filter=Q(children__kind="residential_cell"))
    )
    assert sorted(w.name for w in wards) == sorted(
        f"Đảng bộ {name}"
        for name in (
            "Phường 1",
            "Phường 2",
            "Phường 3",
            "Phường 4",
            "Phường 5",
            "Phường Đông Giang",
            "Phường Đông Thanh",
            "Phường Đông Lương",
            "Phường Đông Lễ",
        )
    )
    assert sum(w.cells for w in wards) == 83
    assert all(w.cells >= 8 for w in wards)


@pytest.mark.django_db
def test_same_seed_same_data_and_refusal_on_a_non_empty_database(demo):
    with pytest.raises(CommandError, match=r"not empty.*--reset"):
        call_command("seed_demo", today=TODAY, stdout=io.StringIO())
    out = io.StringIO()
    call_command("seed_demo", if_empty=True, today=TODAY, stdout=out)
    assert "already has data" in out.getvalue()
    assert fingerprint() == demo["fingerprint"]

    call_command("seed_demo", reset=True, today=TODAY, stdout=io.StringIO())  # rolled back with the test
    assert fingerprint() == demo["fingerprint"]

    call_command("seed_demo", reset=True, seed=77, today=TODAY, stdout=io.StringIO())
    assert fingerprint() != demo["fingerprint"]


@pytest.mark.django_db
def test_demo_users_log_in_with_their_posts(demo, client):
    expected = {
        "thanhuy": ("root", "DH"),
        "phuong1": ("ward", "P1"),
        "phuong2": ("ward", "P2"),
        "khupho1": ("residential_cell", "P1-KP1"),
        "coquan1": ("committee", "GDDT"),
    }
    for username, (kind, code) in expected.items():
        post = Officer.objects.select_related("organisation").get(user__username=username)
        assert (post.organisation.kind, post.organisation.code) == (kind, code)
        # through the login page, as people do
        response = client.post(reverse("login"), {"username": username, "password": DEMO_PASSWORD})
        assert response.status_code == 302, username
        assert client.get(reverse("home")).status_code == 200
        client.post(reverse("logout"))
    assert get_user_model().objects.get(username="thanhuy").is_staff


@pytest.mark.django_db
def test_the_workplace_demo_cadre_refers_members_to_several_wards(demo):
    wards = (
        Referral.objects.filter(issuing_organisation__code="GDDT", ended_on__isnull=True)
        .values("receiving_ward")
        .distinct()
    )
    assert wards.count() >= 5


@pytest.mark.django_db
def test_the_weak_spots_of_the_article_are_in_the_data(demo):
    year = TODAY.year
    # 1. committees with eligible members and no introduction recorded this year
    for code in QUIET_COMMITTEES:
        assert not Referral.objects.filter(issuing_organisation__code=code, introduced_on__year=year).exists()
    busy = Organisation.objects.filter(kind__in=["committee", "grassroots_cell"]).exclude(code__in=QUIET_COMMITTEES)
    for organisation in busy.filter(valid_to__isnull=True):
        assert Referral.objects.filter(issuing_organisation=organisation, introduced_on__year=year).exists(), (
            organisation.code
        )
    for code in QUIET_WARDS:
        assert not Referral.objects.filter(receiving_ward__code=code, received_on__year=year).exists()
        assert Referral.objects.filter(receiving_ward__code=code, introduced_on__year=year).exists()
    # 2. handovers stuck between workplace and ward, and members still to be placed
    assert Referral.objects.stalled_on(TODAY).count() >= 10
    assert Referral.objects.awaiting_placement_on(TODAY).count() >= 5
    # 3. members who missed a periodic meeting this year
    irregular = (
        Attendance.objects.filter(meeting__year=year, meeting__kind="periodic", status="absent")
        .values("member")
        .distinct()
    )
    assert irregular.count() >= 20
    # 4. residential cells that skipped a past half-year
    held = Meeting.objects.filter(kind="periodic", year=2025, half=1).values("residential_cell").distinct()
    assert 0 < held.count() < 83
    # 5. comments sent after the deadline (30 November), and comments sent but never received
    assert ResidenceComment.objects.filter(year=2025, sent_on__gt=D(2025, 11, 30)).count() >= 50
    assert ResidenceComment.objects.filter(year=2024, sent_on__isnull=False, received_on__isnull=True).exists()


@pytest.mark.django_db
def test_the_data_is_consistent(demo):
    # Every attendance is of a member placed in that cell on the meeting day.
    misplaced = Attendance.objects.exclude(
        Exists(
            Referral.objects.filter(
                member=OuterRef("member"),
                residential_cell=OuterRef("meeting__residential_cell"),
                placed_on__lte=OuterRef("meeting__held_on"),
            ).filter(Q(ended_on__isnull=True) | Q(ended_on__gt=OuterRef("meeting__held_on")))
        )
    )
    assert not misplaced.exists()
    # Nothing is dated after "today", and no member has two referrals open on the same day.
    assert not Referral.objects.filter(
        Q(introduced_on__gt=TODAY) | Q(received_on__gt=TODAY) | Q(placed_on__gt=TODAY) | Q(ended_on__gt=TODAY)
    ).exists()
    overlapping = Referral.objects.filter(
        Exists(
            Referral.objects.filter(member=OuterRef("member"), introduced_on__lt=OuterRef("introduced_on"))
            .exclude(pk=OuterRef("pk"))
            .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=OuterRef("introduced_on")))
        )
    )
    assert not overlapping.exists()
    # Referral steps follow the member's admission; a comment is about a member placed in that cell.
    assert not Referral.objects.filter(introduced_on__lt=F("member__admitted_on")).exists()
    assert not Exemption.objects.filter(started_on__lt=F("member__admitted_on")).exists()
    assert not ResidenceComment.objects.exclude(
        Exists(Referral.objects.filter(member=OuterRef("member"), residential_cell=OuterRef("residential_cell")))
    ).exists()
    # Letter numbers run per issuing organisation and year.
    assert not (
        Referral.objects.values("issuing_organisation", "introduced_on__year", "letter_number")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .exists()
    )


@pytest.mark.django_db
def test_accent_insensitive_search_finds_the_named_member(demo):
    assert "Nguyễn Văn Đức" in [m.full_name for m in Member.objects.search("nguyen van duc")]
