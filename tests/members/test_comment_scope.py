"""Finding 9 of issue 10 on a small tree: a workplace sees on its comment list only the members whose page it may
open. A member the committee introduced, who retired since into a residential cell of ward 2, is no longer the
committee's: the list leaves them out, as the member page answers 404."""

import datetime

import pytest
from django.urls import reverse

from members.models import Referral, ResidenceComment
from tests.factories import make_member, make_officer, make_referral, move_home

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def former(tree):
    """A member of the committee, introduced to ward 2 and placed in its first cell in 2023, commented on for 2023,
    retired in 2024 into that cell (their home now); and a current member of the committee in the same cell."""
    member = make_member(tree.cell, full_name="Tôn Thất Cũ")
    referral = make_referral(
        member,
        receiving_ward=tree.ward2,
        issuing_organisation=tree.committee,
        introduced_on=D(2023, 2, 1),
        received_on=D(2023, 2, 5),
        residential_cell=tree.ward2_cell1,
        placed_on=D(2023, 2, 10),
        ended_on=D(2024, 5, 1),
        end_reason=Referral.EndReason.RETIRED,
    )
    ResidenceComment.objects.create(
        member=member, year=2023, residential_cell=tree.ward2_cell1, verdict="good", written_on=D(2023, 11, 10)
    )
    member.retired_on = D(2024, 5, 1)
    member.save()
    member = move_home(member, tree.ward2_cell1, D(2024, 5, 1))
    current = make_member(tree.cell, full_name="Lê Văn Nay")
    make_referral(
        current,
        receiving_ward=tree.ward2,
        issuing_organisation=tree.committee,
        introduced_on=D(2023, 2, 1),
        received_on=D(2023, 2, 5),
        residential_cell=tree.ward2_cell1,
        placed_on=D(2023, 2, 10),
    )
    return {"former": member, "current": current, "referral": referral}


def listed(client, year=2023) -> set[str]:
    response = client.get(reverse("members:comment-list", args=[year]))
    assert response.status_code == 200
    return {row.record.member.full_name for row in response.context["table"].paginated_rows}


def test_the_workplace_lists_only_members_it_may_open(client, tree, former):
    client.force_login(make_officer(tree.committee, role="staff"))

    assert client.get(reverse("members:member-detail", args=[former["former"].pk])).status_code == 404
    assert listed(client) == {"Lê Văn Nay"}


def test_the_ward_and_the_city_still_list_the_former_member(client, tree, former):
    client.force_login(make_officer(tree.ward2))
    assert listed(client) == {"Tôn Thất Cũ", "Lê Văn Nay"}
    client.force_login(make_officer(tree.root, role="staff"))
    assert listed(client) == {"Tôn Thất Cũ", "Lê Văn Nay"}
