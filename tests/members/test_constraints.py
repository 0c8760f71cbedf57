"""Each rule twice: the service answers with a ValidationError on the right field, and the database refuses the same
thing written straight to it (IntegrityError), so no other write path (admin, shell, import) can break it."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from members import services
from members.models import Attendance, Meeting, Member, Referral, ResidenceComment, YearEndRating
from tests.factories import make_member, make_referral, member_fields

D = datetime.date


@pytest.fixture
def member(tree):
    return make_member(tree.cell, full_name="Trần Thị Lan")


def error_fields(excinfo) -> set[str]:
    return set(excinfo.value.message_dict)


def error_codes(excinfo, field: str) -> list[str]:
    return [error.code for error in excinfo.value.error_dict[field]]


# --- one open referral ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_second_open_referral_refused_by_service(tree, member, user):
    services.referral_introduce(
        member=member,
        issuing_organisation=tree.committee,
        receiving_ward=tree.ward1,
        letter_number="12-GT/ĐU",
        introduced_on=D(2024, 3, 1),
        by=user,
    )
    with pytest.raises(ValidationError) as excinfo:
        services.referral_introduce(
            member=member,
            issuing_organisation=tree.committee,
            receiving_ward=tree.ward2,
            letter_number="13-GT/ĐU",
            introduced_on=D(2024, 3, 2),
            by=user,
        )
    assert error_codes(excinfo, "member") == ["one_open_referral"]
    assert "01/03/2024" in excinfo.value.message_dict["member"][0]
    assert Referral.objects.filter(member=member).count() == 1


@pytest.mark.django_db
def test_second_open_referral_refused_by_database(tree, member):
    make_referral(member, receiving_ward=tree.ward1)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_referral(member, receiving_ward=tree.ward2)


@pytest.mark.django_db
def test_a_new_referral_after_the_old_one_ended_is_accepted(tree, member):
    make_referral(member, receiving_ward=tree.ward1, ended_on=D(2024, 5, 1), end_reason=Referral.EndReason.OTHER)
    make_referral(member, receiving_ward=tree.ward2, introduced_on=D(2024, 5, 2))
    assert Referral.objects.filter(member=member).count() == 2


@pytest.mark.django_db
def test_the_database_unique_index_is_turned_into_a_validation_error(tree, member, user, monkeypatch):
    """The race: both checks passed, the database refuses the second row; the user sees a ValidationError."""
    make_referral(member, receiving_ward=tree.ward1)
    # Pretend our checks saw no open referral, as a concurrent transaction that has not committed yet would.
    monkeypatch.setattr(services, "validate_model", lambda instance, messages=None, errors=None: None)
    referral = Referral(
        member=member,
        issuing_organisation=tree.committee,
        receiving_ward=tree.ward2,
        introduced_on=D(2024, 3, 2),
    )
    with pytest.raises(ValidationError) as excinfo, transaction.atomic():
        services._save_referral(referral, by=user)
    assert error_codes(excinfo, "member") == ["one_open_referral"]


# --- the order of the dates -------------------------------------------------------------------------------------


@pytest.fixture
def referral(tree, member):
    return make_referral(member, receiving_ward=tree.ward1, introduced_on=D(2024, 3, 10))


@pytest.mark.django_db
def test_received_before_introduced_refused(referral, user):
    with pytest.raises(ValidationError) as excinfo:
        services.referral_receive(referral=referral, received_on=D(2024, 3, 9), by=user)
    assert error_fields(excinfo) == {"received_on"}
    with pytest.raises(IntegrityError), transaction.atomic():
        Referral.objects.filter(pk=referral.pk).update(received_on=D(2024, 3, 9))


@pytest.mark.django_db
def test_placed_before_received_refused(tree, referral, user):
    referral = services.referral_receive(referral=referral, received_on=D(2024, 3, 15), by=user)
    with pytest.raises(ValidationError) as excinfo:
        services.referral_place(referral=referral, residential_cell=tree.ward1_cell1, placed_on=D(2024, 3, 14), by=user)
    assert error_fields(excinfo) == {"placed_on"}
    with pytest.raises(IntegrityError), transaction.atomic():
        Referral.objects.filter(pk=referral.pk).update(residential_cell=tree.ward1_cell1, placed_on=D(2024, 3, 14))


@pytest.mark.django_db
def test_placed_without_received_refused(tree, referral, user):
    with pytest.raises(ValidationError) as excinfo:
        services.referral_place(referral=referral, residential_cell=tree.ward1_cell1, placed_on=D(2024, 3, 20), by=user)
    assert error_fields(excinfo) == {"placed_on"}
    with pytest.raises(IntegrityError), transaction.atomic():
        Referral.objects.filter(pk=referral.pk).update(residential_cell=tree.ward1_cell1, placed_on=D(2024, 3, 20))


@pytest.mark.django_db
def test_reported_without_placement_refused(referral, user):
    referral = services.referral_receive(referral=referral, received_on=D(2024, 3, 15), by=user)
    with pytest.raises(ValidationError) as excinfo:
        services.referral_report(referral=referral, reported_on=D(2024, 3, 20), by=user)
    assert error_fields(excinfo) == {"reported_on"}
    with pytest.raises(IntegrityError), transaction.atomic():
        Referral.objects.filter(pk=referral.pk).update(reported_on=D(2024, 3, 20))


@pytest.mark.django_db
def test_reported_before_placement_refused(tree, referral, user):
    referral = services.referral_receive(referral=referral, received_on=D(2024, 3, 15), by=user)
    referral = services.referral_place(
        referral=referral, residential_cell=tree.ward1_cell1, placed_on=D(2024, 3, 20), by=user
    )
    with pytest.raises(ValidationError) as excinfo:
        services.referral_report(referral=referral, reported_on=D(2024, 3, 19), by=user)
    assert error_fields(excinfo) == {"reported_on"}
    with pytest.raises(IntegrityError), transaction.atomic():
        Referral.objects.filter(pk=referral.pk).update(reported_on=D(2024, 3, 19))


@pytest.mark.django_db
def test_ended_before_introduced_refused(referral, user):
    with pytest.raises(ValidationError) as excinfo:
        services.referral_end(
            referral=referral, ended_on=D(2024, 3, 9), end_reason=Referral.EndReason.MOVED_RESIDENCE, by=user
        )
    assert error_fields(excinfo) == {"ended_on"}
    with pytest.raises(IntegrityError), transaction.atomic():
        Referral.objects.filter(pk=referral.pk).update(
            ended_on=D(2024, 3, 9), end_reason=Referral.EndReason.MOVED_RESIDENCE
        )


@pytest.mark.django_db
def test_ended_without_reason_refused(referral, user):
    with pytest.raises(ValidationError) as excinfo:
        services.referral_end(referral=referral, ended_on=D(2024, 4, 1), end_reason="", by=user)
    assert error_fields(excinfo) == {"end_reason"}
    with pytest.raises(ValidationError) as excinfo:
        services.referral_end(referral=referral, ended_on=D(2024, 4, 1), end_reason="no_such_reason", by=user)
    assert error_fields(excinfo) == {"end_reason"}
    with pytest.raises(IntegrityError), transaction.atomic():
        Referral.objects.filter(pk=referral.pk).update(ended_on=D(2024, 4, 1))
    assert Referral.objects.get(pk=referral.pk).ended_on is None


@pytest.mark.django_db
def test_end_reason_without_ended_on_refused(referral):
    referral.end_reason = Referral.EndReason.RETIRED
    with pytest.raises(ValidationError) as excinfo:
        services.validate_model(referral, services.REFERRAL_MESSAGES)
    assert error_fields(excinfo) == {"end_reason"}
    with pytest.raises(IntegrityError), transaction.atomic():
        Referral.objects.filter(pk=referral.pk).update(end_reason=Referral.EndReason.RETIRED)


@pytest.mark.django_db
def test_cell_without_placement_date_refused_by_database(tree, referral):
    Referral.objects.filter(pk=referral.pk).update(received_on=D(2024, 3, 15))
    with pytest.raises(IntegrityError), transaction.atomic():
        Referral.objects.filter(pk=referral.pk).update(residential_cell=tree.ward1_cell1)


# --- the residential cell belongs to the receiving ward ---------------------------------------------------------


@pytest.mark.django_db
def test_cell_of_another_ward_refused_by_service(tree, referral, user):
    referral = services.referral_receive(referral=referral, received_on=D(2024, 3, 15), by=user)
    with pytest.raises(ValidationError) as excinfo:
        services.referral_place(referral=referral, residential_cell=tree.ward2_cell1, placed_on=D(2024, 3, 20), by=user)
    assert error_fields(excinfo) == {"residential_cell"}
    assert Referral.objects.get(pk=referral.pk).residential_cell is None


@pytest.mark.django_db
@pytest.mark.parametrize("attr", ["ward1", "cell", "committee"])
def test_something_not_a_residential_cell_refused_by_service(tree, referral, user, attr):
    referral = services.referral_receive(referral=referral, received_on=D(2024, 3, 15), by=user)
    with pytest.raises(ValidationError) as excinfo:
        services.referral_place(
            referral=referral, residential_cell=getattr(tree, attr), placed_on=D(2024, 3, 20), by=user
        )
    assert error_fields(excinfo) == {"residential_cell"}


@pytest.mark.django_db
def test_cell_of_another_ward_refused_by_the_trigger(tree, referral):
    Referral.objects.filter(pk=referral.pk).update(received_on=D(2024, 3, 15))
    with pytest.raises(IntegrityError), transaction.atomic():
        Referral.objects.filter(pk=referral.pk).update(residential_cell=tree.ward2_cell1, placed_on=D(2024, 3, 20))
    # The cell of the receiving ward is accepted by the same statement.
    Referral.objects.filter(pk=referral.pk).update(residential_cell=tree.ward1_cell1, placed_on=D(2024, 3, 20))
    assert Referral.objects.get(pk=referral.pk).residential_cell == tree.ward1_cell1


@pytest.mark.django_db
def test_moving_the_referral_to_another_ward_keeping_the_cell_refused_by_the_trigger(tree, referral):
    Referral.objects.filter(pk=referral.pk).update(
        received_on=D(2024, 3, 15), residential_cell=tree.ward1_cell1, placed_on=D(2024, 3, 20)
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Referral.objects.filter(pk=referral.pk).update(receiving_ward=tree.ward2)


@pytest.mark.django_db
def test_receiving_organisation_not_a_ward_refused(tree, member, user):
    with pytest.raises(ValidationError) as excinfo:
        services.referral_introduce(
            member=member,
            issuing_organisation=tree.committee,
            receiving_ward=tree.ward1_cell1,
            letter_number="1",
            introduced_on=D(2024, 3, 1),
            by=user,
        )
    assert error_fields(excinfo) == {"receiving_ward"}
    with pytest.raises(IntegrityError), transaction.atomic():
        make_referral(member, receiving_ward=tree.ward1_cell1)


@pytest.mark.django_db
def test_trigger_error_is_turned_into_a_validation_error(tree, referral, user):
    Referral.objects.filter(pk=referral.pk).update(received_on=D(2024, 3, 15))
    referral.refresh_from_db()
    referral.residential_cell = tree.ward2_cell1
    referral.placed_on = D(2024, 3, 20)
    with (
        pytest.raises(ValidationError) as excinfo,
        transaction.atomic(),
        services.integrity_errors_as_validation(services.REFERRAL_MESSAGES),
    ):
        referral.save()
    assert error_codes(excinfo, "residential_cell") == ["referral_cell_in_ward"]


# --- members ----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("national_id", ["04508700123", "0450870012345", "04508700123a", "045 087 00123"])
def test_national_id_not_12_digits_refused(tree, user, national_id):
    with pytest.raises(ValidationError) as excinfo:
        Member(**member_fields(tree.cell, national_id=national_id)).full_clean()
    assert "national_id" in excinfo.value.message_dict
    with pytest.raises(ValidationError) as excinfo:
        services.member_create(by=user, **member_fields(tree.cell, national_id=national_id))
    assert error_fields(excinfo) == {"national_id"}
    assert not Member.objects.filter(national_id=national_id).exists()


@pytest.mark.django_db
def test_national_id_of_12_digits_accepted(tree, user):
    member = services.member_create(by=user, **member_fields(tree.cell, national_id="045087001234"))
    assert Member.objects.get(pk=member.pk).national_id == "045087001234"


@pytest.mark.django_db
def test_national_id_unique_when_given(tree, user):
    services.member_create(by=user, **member_fields(tree.cell, national_id="045087001234"))
    with pytest.raises(ValidationError) as excinfo:
        services.member_create(by=user, **member_fields(tree.cell, national_id="045087001234"))
    assert error_fields(excinfo) == {"national_id"}
    with pytest.raises(IntegrityError), transaction.atomic():
        make_member(tree.cell, national_id="045087001234")


@pytest.mark.django_db
def test_blank_national_id_allowed_twice(tree, user):
    services.member_create(by=user, **member_fields(tree.cell, national_id=""))
    services.member_create(by=user, **member_fields(tree.cell, national_id=""))
    make_member(tree.cell, national_id="")
    assert Member.objects.filter(national_id="").count() == 3


@pytest.mark.django_db
def test_card_number_unique(tree, user):
    services.member_create(by=user, **member_fields(tree.cell, card_number="93012345"))
    with pytest.raises(ValidationError) as excinfo:
        services.member_create(by=user, **member_fields(tree.cell, card_number="93012345"))
    assert error_fields(excinfo) == {"card_number"}
    with pytest.raises(IntegrityError), transaction.atomic():
        make_member(tree.cell, card_number="93012345")


@pytest.mark.django_db
def test_card_number_race_is_turned_into_a_validation_error(tree, user, monkeypatch):
    make_member(tree.cell, card_number="93012345")
    monkeypatch.setattr(services, "validate_model", lambda instance, messages=None, errors=None: None)
    with pytest.raises(ValidationError) as excinfo:
        services.member_create(by=user, **member_fields(tree.cell, card_number="93012345"))
    assert error_codes(excinfo, "card_number") == ["card_number"]


@pytest.mark.django_db
def test_left_on_without_reason_refused(member, user):
    with pytest.raises(ValidationError) as excinfo:
        services.member_update(member=member, by=user, left_on=D(2024, 1, 1))
    assert error_fields(excinfo) == {"left_reason"}
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.filter(pk=member.pk).update(left_on=D(2024, 1, 1))


@pytest.mark.django_db
def test_official_before_admission_refused(member, user):
    with pytest.raises(ValidationError) as excinfo:
        services.member_update(member=member, by=user, official_on=member.admitted_on - datetime.timedelta(days=1))
    assert error_fields(excinfo) == {"official_on"}
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.filter(pk=member.pk).update(official_on=member.admitted_on - datetime.timedelta(days=1))


# --- meetings, attendance, comments, ratings --------------------------------------------------------------------


@pytest.fixture
def placed_member(tree, user):
    member = make_member(tree.cell)
    make_referral(
        member,
        receiving_ward=tree.ward1,
        introduced_on=D(2024, 1, 5),
        received_on=D(2024, 1, 10),
        residential_cell=tree.ward1_cell1,
        placed_on=D(2024, 1, 15),
    )
    return member


@pytest.fixture
def meeting(tree, user):
    return services.meeting_create(residential_cell=tree.ward1_cell1, held_on=D(2024, 6, 20), by=user)


@pytest.mark.django_db
def test_excused_absence_without_reason_refused(meeting, placed_member, user):
    with pytest.raises(ValidationError) as excinfo:
        services.attendance_record(
            meeting=meeting, member=placed_member, status=Attendance.Status.EXCUSED, reason="", by=user
        )
    assert error_fields(excinfo) == {"reason"}
    with pytest.raises(IntegrityError), transaction.atomic():
        Attendance.objects.create(meeting=meeting, member=placed_member, status=Attendance.Status.EXCUSED)
    attendance = services.attendance_record(
        meeting=meeting, member=placed_member, status=Attendance.Status.EXCUSED, reason="Đi công tác", by=user
    )
    assert attendance.reason == "Đi công tác"


@pytest.mark.django_db
def test_one_attendance_per_meeting_and_member(meeting, placed_member, user):
    services.attendance_record(meeting=meeting, member=placed_member, status=Attendance.Status.ABSENT, by=user)
    # The service corrects the existing row rather than adding a second one.
    services.attendance_record(meeting=meeting, member=placed_member, status=Attendance.Status.PRESENT, by=user)
    assert Attendance.objects.get(meeting=meeting, member=placed_member).status == Attendance.Status.PRESENT
    with pytest.raises(IntegrityError), transaction.atomic():
        Attendance.objects.create(meeting=meeting, member=placed_member, status=Attendance.Status.PRESENT)


@pytest.mark.django_db
def test_attendance_of_a_member_not_placed_in_the_cell_refused(tree, meeting, user):
    stranger = make_member(tree.cell)
    with pytest.raises(ValidationError) as excinfo:
        services.attendance_record(meeting=meeting, member=stranger, status=Attendance.Status.PRESENT, by=user)
    assert error_fields(excinfo) == {"member"}


@pytest.mark.django_db
def test_meeting_half_must_be_1_or_2_at_the_database(meeting):
    with pytest.raises(IntegrityError), transaction.atomic():
        Meeting.objects.filter(pk=meeting.pk).update(half=3)


@pytest.mark.django_db
def test_one_comment_per_member_and_year(tree, placed_member, user):
    fields = {
        "member": placed_member,
        "year": 2024,
        "residential_cell": tree.ward1_cell1,
        "verdict": ResidenceComment.Verdict.GOOD,
        "written_on": D(2024, 11, 20),
        "by": user,
    }
    services.residence_comment_write(**fields)
    with pytest.raises(ValidationError) as excinfo:
        services.residence_comment_write(**fields)
    assert error_codes(excinfo, "year") == ["one_comment_per_member_and_year"]
    with pytest.raises(IntegrityError), transaction.atomic():
        ResidenceComment.objects.create(
            member=placed_member,
            year=2024,
            residential_cell=tree.ward1_cell1,
            verdict=ResidenceComment.Verdict.FAIR,
            written_on=D(2024, 12, 1),
        )
    services.residence_comment_write(**{**fields, "year": 2025, "written_on": D(2025, 11, 20)})


@pytest.mark.django_db
def test_comment_received_before_sent_refused(tree, placed_member, user):
    comment = services.residence_comment_write(
        member=placed_member,
        year=2024,
        residential_cell=tree.ward1_cell1,
        verdict=ResidenceComment.Verdict.GOOD,
        written_on=D(2024, 11, 20),
        by=user,
    )
    with pytest.raises(ValidationError) as excinfo:
        services.residence_comment_receive(comment=comment, received_on=D(2024, 11, 25), by=user)
    assert error_codes(excinfo, "received_on") == ["not_sent"]
    with pytest.raises(ValidationError) as excinfo:
        services.residence_comment_send(comment=comment, sent_on=D(2024, 11, 19), by=user)
    assert error_fields(excinfo) == {"sent_on"}
    comment = services.residence_comment_send(comment=comment, sent_on=D(2024, 11, 22), by=user)
    with pytest.raises(ValidationError) as excinfo:
        services.residence_comment_receive(comment=comment, received_on=D(2024, 11, 21), by=user)
    assert error_fields(excinfo) == {"received_on"}
    with pytest.raises(IntegrityError), transaction.atomic():
        ResidenceComment.objects.filter(pk=comment.pk).update(received_on=D(2024, 11, 21))
    comment = services.residence_comment_receive(comment=comment, received_on=D(2024, 11, 28), by=user)
    assert (comment.sent_by, comment.received_by, comment.written_by) == (user, user, user)


@pytest.mark.django_db
def test_one_rating_per_member_and_year(placed_member, user):
    services.year_end_rating_record(
        member=placed_member, year=2024, level=YearEndRating.Level.GOOD, decided_on=D(2024, 12, 20), by=user
    )
    with pytest.raises(ValidationError) as excinfo:
        services.year_end_rating_record(
            member=placed_member, year=2024, level=YearEndRating.Level.EXCELLENT, decided_on=D(2024, 12, 21), by=user
        )
    assert error_codes(excinfo, "year") == ["one_rating_per_member_and_year"]
    with pytest.raises(IntegrityError), transaction.atomic():
        YearEndRating.objects.create(
            member=placed_member, year=2024, level=YearEndRating.Level.FULFILLED, decided_on=D(2024, 12, 22)
        )
    assert YearEndRating.objects.get(member=placed_member, year=2024).level == YearEndRating.Level.GOOD
