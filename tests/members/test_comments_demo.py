"""With the demo data, the comment list and the ratings page show exactly the weak spots the demo seeded: comments sent
after 30/11/2025, comments never written, members rated excellent or good despite a "limited" or missing comment.

The expectations are computed here with plain ORM queries, not with the selectors under test.
"""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse

from branches.models import Organisation
from members.models import Exemption, Member, Referral, ResidenceComment, YearEndRating

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

D = datetime.date
YEAR = 2025
DEADLINE = D(2025, 11, 30)
ALL = "per_page=100000"


def login(client, username):
    client.force_login(get_user_model().objects.get(username=username))
    return client


def listed_members(client, url) -> set[int]:
    response = client.get(url)
    assert response.status_code == 200
    return {row.record.member_id for row in response.context["table"].paginated_rows}


def due_referrals():
    """Referrals placed in a residential cell on the deadline, members not exempt from activities that day."""
    exempt = Exemption.objects.filter(
        Q(started_on__lte=DEADLINE),
        Q(ended_on__isnull=True) | Q(ended_on__gt=DEADLINE),
        member=OuterRef("member"),
        kind=Exemption.Kind.ACTIVITIES,
    )
    return (
        Referral.objects.filter(residential_cell__isnull=False, placed_on__lte=DEADLINE)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=DEADLINE))
        .exclude(Exists(exempt))
    )


def test_the_city_sees_exactly_the_late_and_the_missing_comments_of_2025(client, demo):
    late = set(ResidenceComment.objects.filter(year=YEAR, sent_on__gt=DEADLINE).values_list("member", flat=True))
    written = ResidenceComment.objects.filter(year=YEAR, member=OuterRef("member"))
    missing = set(due_referrals().exclude(Exists(written)).values_list("member", flat=True))
    not_received = set(
        ResidenceComment.objects.filter(year=YEAR, sent_on__isnull=False, received_on__isnull=True).values_list(
            "member", flat=True
        )
    )
    assert late and missing and not_received, "the demo seeds late, missing and unreceived comments"

    login(client, "thanhuy")
    url = reverse("members:comment-list", args=[YEAR])
    assert listed_members(client, f"{url}?state=late&{ALL}") == late
    assert listed_members(client, f"{url}?state=not_written&{ALL}") == missing
    assert listed_members(client, f"{url}?state=sent&{ALL}") == not_received
    counts = client.get(url).context["counts"]
    assert counts["late"] == len(late)
    assert counts["not_written"] == len(missing)
    assert counts["sent"] == len(not_received)
    assert counts["total"] == due_referrals().count()


def test_the_workplace_sees_the_late_and_missing_comments_on_its_members(client, demo):
    """The committee's members: those it introduced that year who have since retired or moved to another workplace
    are no longer its to open (issue 10, finding 9), so their comments are listed by their new committee."""
    education = Organisation.objects.get(code="GDDT-2025")  # GDDT under the province since the 2025 reform
    ours = due_referrals().filter(member__home_organisation__path__startswith=education.path)
    late_comments = ResidenceComment.objects.filter(year=YEAR, sent_on__gt=DEADLINE, member=OuterRef("member"))
    late = set(ours.filter(Exists(late_comments)).values_list("member", flat=True))
    written = ResidenceComment.objects.filter(year=YEAR, member=OuterRef("member"))
    missing = set(ours.exclude(Exists(written)).values_list("member", flat=True))
    assert late and missing

    login(client, "coquan1")
    url = reverse("members:comment-list", args=[YEAR])
    assert listed_members(client, f"{url}?state=late&{ALL}") == late
    assert listed_members(client, f"{url}?state=not_written&{ALL}") == missing


def test_the_ratings_page_of_the_education_committee_warns_where_the_demo_seeded_it(client, demo):
    education = Organisation.objects.get(code="GDDT-2025")  # GDDT under the province since the 2025 reform
    comment = ResidenceComment.objects.filter(year=YEAR, member=OuterRef("member"))
    due = due_referrals().filter(member=OuterRef("member"))
    warned = set(
        YearEndRating.objects.filter(
            year=YEAR,
            level__in=[YearEndRating.Level.EXCELLENT, YearEndRating.Level.GOOD],
            member__home_organisation__path__startswith=education.path,
        )
        .filter(Exists(comment.filter(verdict="limited")) | (~Exists(comment) & Exists(due)))
        .values_list("member", flat=True)
    )
    assert warned, "the demo rates a few members well despite a poor residence comment"

    login(client, "coquan1")
    url = reverse("members:rating-list", args=[YEAR])
    response = client.get(f"{url}?warnings=on&{ALL}")
    assert {row.record.pk for row in response.context["table"].paginated_rows} == warned
    assert response.context["counts"]["warnings"] == len(warned)
    page = client.get(f"{url}?{ALL}").content.decode()
    assert page.count('data-warning="1"') == 2 * len(warned)  # the row's attribute and the badge in it
    assert f'id="rating-warning-count">{len(warned)}<' in page
    # every member rated for 2025 in the committee is on the page with the rating
    rated = YearEndRating.objects.filter(year=YEAR, member__home_organisation__path__startswith=education.path)
    assert response.context["counts"]["rated"] == rated.count()
    assert Member.objects.filter(pk__in=warned).exclude(home_organisation__path__startswith=education.path).count() == 0
