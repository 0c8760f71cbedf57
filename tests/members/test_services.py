"""The services: the referral workflow, its refusals, exemptions and the member record."""

import datetime
import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction
from django.utils import timezone

from branches.services import organisation_update
from members import services
from members.models import Exemption, Member, Referral
from tests.factories import make_member, make_referral, make_tree, make_user, member_fields

D = datetime.date
State = Referral.State
MARCH_1 = D(2024, 3, 1)


@pytest.fixture
def member(tree):
    return make_member(tree.cell, full_name="Lê Văn Hùng", admitted_on=D(2010, 2, 3))


def codes(excinfo, field: str) -> list[str]:
    return [error.code for error in excinfo.value.error_dict[field]]


def introduce(tree, member, user, introduced_on=MARCH_1, **kw) -> Referral:
    kw.setdefault("issuing_organisation", tree.committee)
    kw.setdefault("receiving_ward", tree.ward1)
    return services.referral_introduce(
        member=member, letter_number="15-GT/ĐU", introduced_on=introduced_on, by=user, **kw
    )


def tomorrow() -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=1)


# --- the happy path ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_introduce_receive_place_report_end(tree, member):
    workplace, ward_staff, cell_staff = make_user(), make_user(), make_user()

    referral = introduce(tree, member, workplace, introduced_on=D(2024, 3, 1), notes="Giấy giới thiệu mẫu 1-76")
    assert (referral.introduced_by, referral.state_on(D(2024, 3, 1))) == (workplace, State.INTRODUCED)
    assert referral.is_open

    referral = services.referral_receive(referral=referral, received_on=D(2024, 3, 10), by=ward_staff)
    assert referral.received_by == ward_staff
    referral = services.referral_place(
        referral=referral, residential_cell=tree.ward1_cell2, placed_on=D(2024, 3, 15), by=ward_staff
    )
    assert (referral.residential_cell, referral.placed_by) == (tree.ward1_cell2, ward_staff)
    referral = services.referral_report(referral=referral, reported_on=D(2024, 3, 20), by=cell_staff)
    assert referral.reported_by == cell_staff
    referral = services.referral_end(
        referral=referral,
        ended_on=D(2024, 9, 1),
        end_reason=Referral.EndReason.MOVED_RESIDENCE,
        by=workplace,
        notes="Chuyển về Phường 5",
    )
    assert (referral.ended_by, referral.end_reason, referral.is_open) == (workplace, "moved_residence", False)
    assert referral.notes == "Giấy giới thiệu mẫu 1-76\nChuyển về Phường 5"

    # The state on any day comes from the dates alone.
    saved = Referral.objects.get(pk=referral.pk)
    expected = {
        D(2024, 3, 1): State.INTRODUCED,
        D(2024, 3, 9): State.INTRODUCED,
        D(2024, 3, 10): State.RECEIVED,
        D(2024, 3, 14): State.RECEIVED,
        D(2024, 3, 15): State.PLACED,
        D(2024, 3, 19): State.PLACED,
        D(2024, 3, 20): State.REPORTED,
        D(2024, 8, 31): State.REPORTED,
        D(2024, 9, 1): State.ENDED,
    }
    assert {day: saved.state_on(day) for day in expected} == expected
    assert saved.state == State.ENDED

    # So do the figures as of a day.
    referrals = Referral.objects.filter(pk=referral.pk)
    assert not referrals.active_on(D(2024, 2, 29)).exists()
    assert referrals.awaiting_reception_on(D(2024, 3, 9)).exists()
    assert not referrals.awaiting_reception_on(D(2024, 3, 10)).exists()
    assert referrals.awaiting_placement_on(D(2024, 3, 14)).exists()
    assert referrals.placed_as_of(D(2024, 3, 15)).exists()
    assert referrals.placed_as_of(D(2024, 8, 31)).exists()
    assert not referrals.active_on(D(2024, 9, 1)).exists()

    # Each step is in the history with who recorded it.
    assert [h.history_user for h in saved.history.order_by("history_id")] == [
        workplace,
        ward_staff,
        ward_staff,
        cell_staff,
        workplace,
    ]

    # After the end the member can be introduced to the new ward.
    again = introduce(tree, member, workplace, introduced_on=D(2024, 9, 5), receiving_ward=tree.ward2)
    assert again.state_on(D(2024, 9, 5)) == State.INTRODUCED


@pytest.mark.django_db
def test_every_step_on_the_same_day_is_accepted(tree, member, user):
    day = timezone.localdate()
    referral = introduce(tree, member, user, introduced_on=day)
    referral = services.referral_receive(referral=referral, received_on=day, by=user)
    referral = services.referral_place(referral=referral, residential_cell=tree.ward1_cell1, placed_on=day, by=user)
    referral = services.referral_report(referral=referral, reported_on=day, by=user)
    referral = services.referral_end(referral=referral, ended_on=day, end_reason=Referral.EndReason.OTHER, by=user)
    assert referral.state_on(day) == State.ENDED


@pytest.mark.django_db
def test_a_member_of_an_outside_organisation_is_introduced_by_it(tree, user):
    outsider = make_member(tree.outside)
    referral = introduce(tree, outsider, user, issuing_organisation=tree.outside)
    assert referral.issuing_organisation == tree.outside


@pytest.mark.django_db
def test_a_member_of_a_grassroots_cell_is_introduced_by_it(tree, user):
    teacher = make_member(tree.grassroots_cell)
    referral = introduce(tree, teacher, user, issuing_organisation=tree.grassroots_cell)
    assert referral.receiving_ward == tree.ward1


# --- refusals ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_future_dates_refused_at_every_step(tree, member, user):
    with pytest.raises(ValidationError) as excinfo:
        introduce(tree, member, user, introduced_on=tomorrow())
    assert codes(excinfo, "introduced_on") == ["future"]
    assert not Referral.objects.exists()

    referral = introduce(tree, member, user)
    with pytest.raises(ValidationError) as excinfo:
        services.referral_receive(referral=referral, received_on=tomorrow(), by=user)
    assert codes(excinfo, "received_on") == ["future"]
    referral = services.referral_receive(referral=referral, received_on=D(2024, 3, 10), by=user)

    with pytest.raises(ValidationError) as excinfo:
        services.referral_place(referral=referral, residential_cell=tree.ward1_cell1, placed_on=tomorrow(), by=user)
    assert codes(excinfo, "placed_on") == ["future"]
    referral = services.referral_place(
        referral=referral, residential_cell=tree.ward1_cell1, placed_on=D(2024, 3, 15), by=user
    )

    with pytest.raises(ValidationError) as excinfo:
        services.referral_report(referral=referral, reported_on=tomorrow(), by=user)
    assert codes(excinfo, "reported_on") == ["future"]

    with pytest.raises(ValidationError) as excinfo:
        services.referral_end(referral=referral, ended_on=tomorrow(), end_reason=Referral.EndReason.OTHER, by=user)
    assert codes(excinfo, "ended_on") == ["future"]

    saved = Referral.objects.get(pk=referral.pk)
    assert (saved.reported_on, saved.ended_on) == (None, None)


@pytest.mark.django_db
def test_introduction_before_admission_refused(tree, member, user):
    with pytest.raises(ValidationError) as excinfo:
        introduce(tree, member, user, introduced_on=D(2010, 2, 2))
    assert codes(excinfo, "introduced_on") == ["before_admission"]
    assert "03/02/2010" in excinfo.value.message_dict["introduced_on"][0]
    assert introduce(tree, member, user, introduced_on=D(2010, 2, 3)).introduced_on == D(2010, 2, 3)


@pytest.mark.django_db
def test_receiving_twice_refused_with_a_message(tree, member, user):
    referral = introduce(tree, member, user)
    services.referral_receive(referral=referral, received_on=D(2024, 3, 10), by=user)
    other_user = make_user()
    with pytest.raises(ValidationError) as excinfo:
        # The stale instance says "not received"; the service reads the row again.
        services.referral_receive(referral=referral, received_on=D(2024, 3, 12), by=other_user)
    assert codes(excinfo, "received_on") == ["already_received"]
    assert "10/03/2024" in excinfo.value.message_dict["received_on"][0]
    saved = Referral.objects.get(pk=referral.pk)
    assert (saved.received_on, saved.received_by) == (D(2024, 3, 10), user)


@pytest.mark.django_db
def test_placing_reporting_and_ending_twice_refused(tree, member, user):
    referral = introduce(tree, member, user)
    referral = services.referral_receive(referral=referral, received_on=D(2024, 3, 10), by=user)
    referral = services.referral_place(
        referral=referral, residential_cell=tree.ward1_cell1, placed_on=D(2024, 3, 15), by=user
    )
    with pytest.raises(ValidationError) as excinfo:
        services.referral_place(referral=referral, residential_cell=tree.ward1_cell2, placed_on=D(2024, 3, 16), by=user)
    assert codes(excinfo, "placed_on") == ["already_placed"]
    referral = services.referral_report(referral=referral, reported_on=D(2024, 3, 20), by=user)
    with pytest.raises(ValidationError) as excinfo:
        services.referral_report(referral=referral, reported_on=D(2024, 3, 21), by=user)
    assert codes(excinfo, "reported_on") == ["already_reported"]
    referral = services.referral_end(referral=referral, ended_on=D(2024, 4, 1), end_reason="retired", by=user)
    with pytest.raises(ValidationError) as excinfo:
        services.referral_end(referral=referral, ended_on=D(2024, 4, 2), end_reason="other", by=user)
    assert codes(excinfo, "ended_on") == ["already_ended"]
    assert Referral.objects.get(pk=referral.pk).end_reason == "retired"


@pytest.mark.django_db
def test_nothing_is_recorded_on_an_ended_referral(tree, member, user):
    referral = introduce(tree, member, user)
    services.referral_end(referral=referral, ended_on=D(2024, 3, 5), end_reason="changed_workplace", by=user)
    with pytest.raises(ValidationError) as excinfo:
        services.referral_receive(referral=referral, received_on=D(2024, 3, 10), by=user)
    assert codes(excinfo, "received_on") == ["ended"]
    assert Referral.objects.get(pk=referral.pk).received_on is None


@pytest.mark.django_db
def test_a_new_introduction_cannot_overlap_the_previous_referral(tree, member, user):
    referral = introduce(tree, member, user)
    services.referral_end(referral=referral, ended_on=D(2024, 6, 1), end_reason="moved_residence", by=user)
    with pytest.raises(ValidationError) as excinfo:
        introduce(tree, member, user, introduced_on=D(2024, 5, 31), receiving_ward=tree.ward2)
    assert codes(excinfo, "introduced_on") == ["before_previous_end"]
    assert Referral.objects.filter(member=member).count() == 1
    again = introduce(tree, member, user, introduced_on=D(2024, 6, 1), receiving_ward=tree.ward2)
    assert again.state_on(D(2024, 6, 1)) == State.INTRODUCED


@pytest.mark.django_db
def test_exempt_member_cannot_be_introduced(tree, member, user):
    services.exemption_set(
        member=member,
        kind=Exemption.Kind.INTRODUCTION,
        reason="Nhiệm vụ đặc biệt",
        started_on=D(2023, 1, 1),
        by=user,
    )
    with pytest.raises(ValidationError) as excinfo:
        introduce(tree, member, user, introduced_on=D(2024, 3, 1))
    assert codes(excinfo, "member") == ["exempt"]
    assert not Referral.objects.exists()

    # Introduced before the exemption started: not exempt on that day.
    assert introduce(tree, member, user, introduced_on=D(2022, 12, 31)).pk


@pytest.mark.django_db
def test_member_introduced_once_the_exemption_is_lifted(tree, member, user):
    services.exemption_set(
        member=member, kind=Exemption.Kind.INTRODUCTION, reason="Quân đội", started_on=D(2023, 1, 1), by=user
    )
    exemption = services.exemption_clear(member=member, ended_on=D(2024, 1, 1), by=user)
    assert exemption.ended_on == D(2024, 1, 1)
    assert Member.objects.exempt_on(D(2023, 12, 31), Exemption.Kind.INTRODUCTION).filter(pk=member.pk).exists()
    assert not Member.objects.exempt_on(D(2024, 1, 1), Exemption.Kind.INTRODUCTION).filter(pk=member.pk).exists()
    assert introduce(tree, member, user, introduced_on=D(2024, 1, 1)).pk


@pytest.mark.django_db
def test_exemption_from_activities_does_not_stop_the_introduction(tree, member, user):
    services.exemption_set(
        member=member, kind=Exemption.Kind.ACTIVITIES, reason="Học tập trung", started_on=D(2023, 1, 1), by=user
    )
    assert introduce(tree, member, user).pk


@pytest.mark.django_db
def test_member_who_left_the_party_cannot_be_introduced(tree, user):
    gone = make_member(tree.cell, left_on=D(2023, 6, 1), left_reason=Member.LeftReason.LEFT_PARTY)
    with pytest.raises(ValidationError) as excinfo:
        introduce(tree, gone, user, introduced_on=D(2023, 1, 1))
    assert codes(excinfo, "member") == ["left_party"]


@pytest.mark.django_db
def test_retired_member_cannot_be_introduced(tree, user):
    retired = make_member(tree.cell, retired_on=D(2023, 6, 1))
    with pytest.raises(ValidationError) as excinfo:
        introduce(tree, retired, user)
    assert codes(excinfo, "member") == ["retired"]


@pytest.mark.django_db
def test_member_of_a_residential_cell_cannot_be_introduced(tree, user):
    resident = make_member(tree.ward1_cell1)
    with pytest.raises(ValidationError) as excinfo:
        introduce(tree, resident, user)
    assert codes(excinfo, "member") == ["residential_member"]


@pytest.mark.django_db
def test_introduction_by_an_organisation_the_member_does_not_belong_to_refused(tree, member, user):
    with pytest.raises(ValidationError) as excinfo:
        introduce(tree, member, user, issuing_organisation=tree.grassroots_cell)
    assert codes(excinfo, "issuing_organisation") == ["issuer_not_home"]
    with pytest.raises(ValidationError) as excinfo:
        introduce(tree, member, user, issuing_organisation=tree.cell)
    assert codes(excinfo, "issuing_organisation") == ["issuer_kind"]


@pytest.mark.django_db
def test_introduction_to_a_ward_that_no_longer_exists_refused(tree, member, user):
    organisation_update(organisation=tree.ward2, valid_to=D(2024, 1, 1))
    with pytest.raises(ValidationError) as excinfo:
        introduce(tree, member, user, receiving_ward=tree.ward2, introduced_on=D(2024, 3, 1))
    assert codes(excinfo, "receiving_ward") == ["ward_not_valid"]


@pytest.mark.django_db
def test_several_problems_are_reported_together(tree, member, user):
    make_referral(member, receiving_ward=tree.ward2)
    with pytest.raises(ValidationError) as excinfo:
        introduce(tree, member, user, introduced_on=tomorrow(), receiving_ward=tree.ward1_cell1)
    assert set(excinfo.value.message_dict) == {"member", "introduced_on", "receiving_ward"}


# --- exemptions -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_exemption_from_introduction_refused_while_a_referral_is_open(tree, member, user):
    introduce(tree, member, user)
    with pytest.raises(ValidationError) as excinfo:
        services.exemption_set(
            member=member, kind=Exemption.Kind.INTRODUCTION, reason="x", started_on=D(2024, 4, 1), by=user
        )
    assert codes(excinfo, "kind") == ["open_referral"]


@pytest.mark.django_db
def test_switching_the_kind_of_exemption_lifts_the_old_one(member, user):
    first = services.exemption_set(
        member=member, kind=Exemption.Kind.ACTIVITIES, reason="Học tập", started_on=D(2023, 1, 1), by=user
    )
    second = services.exemption_set(
        member=member, kind=Exemption.Kind.INTRODUCTION, reason="Biệt phái", started_on=D(2024, 1, 1), by=user
    )
    first.refresh_from_db()
    assert first.ended_on == D(2024, 1, 1)
    assert second.ended_on is None
    assert second.recorded_by == user
    with pytest.raises(ValidationError) as excinfo:
        services.exemption_set(
            member=member, kind=Exemption.Kind.INTRODUCTION, reason="again", started_on=D(2024, 2, 1), by=user
        )
    assert codes(excinfo, "kind") == ["already_exempt"]


@pytest.mark.django_db
def test_exemption_clear_needs_an_exemption_and_a_later_day(member, user):
    with pytest.raises(ValidationError) as excinfo:
        services.exemption_clear(member=member, ended_on=D(2024, 1, 1), by=user)
    assert codes(excinfo, "member") == ["not_exempt"]
    services.exemption_set(member=member, kind=Exemption.Kind.ACTIVITIES, reason="x", started_on=D(2024, 1, 1), by=user)
    with pytest.raises(ValidationError) as excinfo:
        services.exemption_clear(member=member, ended_on=D(2024, 1, 1), by=user)
    assert codes(excinfo, "ended_on") == ["exemption_ends_after_start"]


# --- members ----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_member_create_records_the_user_in_history(tree, user):
    member = services.member_create(by=user, **member_fields(tree.cell, full_name="Võ Thị Sáu"))
    assert member.search_name == "vo thi sau"
    assert member.history.get().history_user == user


@pytest.mark.django_db
def test_member_update_changes_the_record(tree, member, user):
    updated = services.member_update(member=member, by=user, phone="0912345678", home_organisation=tree.grassroots_cell)
    saved = Member.objects.get(pk=member.pk)
    assert (saved.phone, saved.home_organisation) == ("0912345678", tree.grassroots_cell)
    assert updated.phone == "0912345678"
    assert saved.history.first().history_user == user


@pytest.mark.django_db
@pytest.mark.parametrize("attr", ["ward1", "committee", "root"])
def test_a_member_belongs_to_a_cell(tree, user, attr):
    with pytest.raises(ValidationError) as excinfo:
        services.member_create(by=user, **member_fields(getattr(tree, attr)))
    assert codes(excinfo, "home_organisation") == ["home_not_a_cell"]


@pytest.mark.django_db
def test_member_with_future_admission_refused(tree, user):
    with pytest.raises(ValidationError) as excinfo:
        services.member_create(by=user, **member_fields(tree.cell, admitted_on=tomorrow()))
    assert codes(excinfo, "admitted_on") == ["future"]


@pytest.mark.django_db
def test_member_services_refuse_unknown_fields(tree, member, user):
    with pytest.raises(TypeError):
        services.member_create(by=user, **member_fields(tree.cell), search_name="x")
    with pytest.raises(TypeError):
        services.member_update(member=member, by=user, working=False)


# --- concurrency (PostgreSQL: real row locks) -------------------------------------------------------------------


def _in_thread(target, results, key):
    def run():
        try:
            results[key] = target()
        except Exception as exc:  # the test inspects it
            results[key] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_receptions_give_one_reception():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks")
    tree = make_tree()
    referral = make_referral(make_member(tree.cell), receiving_ward=tree.ward1, introduced_on=D(2024, 3, 1))
    first_saved = threading.Event()
    results: dict[str, object] = {}

    def first():
        with transaction.atomic():
            received = services.referral_receive(referral=referral, received_on=D(2024, 3, 10), by=None)
            first_saved.set()
            time.sleep(0.5)  # keep the row locked while the second user tries
        return received

    def second():
        first_saved.wait(timeout=10)
        return services.referral_receive(referral=referral, received_on=D(2024, 3, 11), by=None)

    threads = [_in_thread(first, results, "first"), _in_thread(second, results, "second")]
    for thread in threads:
        thread.join(timeout=20)

    assert isinstance(results["first"], Referral)
    assert isinstance(results["second"], ValidationError), results["second"]
    assert [e.code for e in results["second"].error_dict["received_on"]] == ["already_received"]
    assert Referral.objects.get(pk=referral.pk).received_on == D(2024, 3, 10)


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_introductions_give_one_referral():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks")
    tree = make_tree()
    member = make_member(tree.cell)
    first_saved = threading.Event()
    results: dict[str, object] = {}

    def first():
        with transaction.atomic():
            referral = introduce(tree, member, None, introduced_on=D(2024, 3, 1))
            first_saved.set()
            time.sleep(0.5)
        return referral

    def second():
        first_saved.wait(timeout=10)
        return introduce(tree, member, None, introduced_on=D(2024, 3, 2), receiving_ward=tree.ward2)

    threads = [_in_thread(first, results, "first"), _in_thread(second, results, "second")]
    for thread in threads:
        thread.join(timeout=20)

    assert isinstance(results["first"], Referral)
    assert isinstance(results["second"], ValidationError), results["second"]
    assert [e.code for e in results["second"].error_dict["member"]] == ["one_open_referral"]
    assert Referral.objects.filter(member=member).count() == 1
