"""``manage.py send_reminders [--dry-run] [--today YYYY-MM-DD]``: what it prints, that a dry run changes and sends
nothing, that a bad day is a clear error, and that a failed e-mail makes the exit status non-zero."""

import datetime
import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from reminders.models import Reminder, ReminderPreference
from tests.factories import make_member, make_officer, make_referral, make_tree

pytestmark = pytest.mark.django_db

DAY = datetime.date(2025, 3, 10)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ward_case(db):
    """Ward 1's secretary (immediate e-mails) and a referral that has awaited reception 8 days on DAY."""
    tree = make_tree()
    secretary = make_officer(tree.ward1, username="bithu-p1", email="bithu@example.vn")
    ReminderPreference.objects.create(user=secretary, delivery=ReminderPreference.Delivery.IMMEDIATE)
    member = make_member(tree.cell, full_name="Lê Văn Tám")
    referral = make_referral(member, receiving_ward=tree.ward1, introduced_on=DAY - datetime.timedelta(days=8))
    return secretary, referral


def command(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("send_reminders", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_run_prints_what_it_made_and_sent(ward_case, mailoutbox):
    out, err = command("--today", DAY.isoformat())
    assert err == ""
    assert "make 1 reminder(s)" in out and "awaiting_reception: 1" in out
    assert "bithu@example.vn" in out and "Lê Văn Tám" in out  # the e-mail's recipient and subject
    assert out.rstrip().endswith("2025-03-10: make 1, close 0, send 1 e-mail(s)")
    assert len(mailoutbox) == 1


def test_a_second_run_makes_and_sends_nothing(ward_case, mailoutbox):
    command("--today", DAY.isoformat())
    out, _err = command("--today", DAY.isoformat())
    assert out.rstrip().endswith("make 0, close 0, send 0 e-mail(s)")
    assert len(mailoutbox) == 1


def test_dry_run_prints_what_it_would_do_and_changes_and_sends_nothing(ward_case, mailoutbox):
    secretary, referral = ward_case
    out, _err = command("--dry-run", "--today", DAY.isoformat())
    assert "dry run" in out
    assert "would make 1 reminder(s)" in out
    assert f"bithu-p1: awaiting_reception #{referral.pk}" in out  # each reminder listed
    assert "would send 1 e-mail(s)" in out and "Lê Văn Tám" in out
    assert mailoutbox == []
    assert not Reminder.objects.exists()
    assert ReminderPreference.objects.get(user=secretary).last_digest_on is None

    command("--today", DAY.isoformat())  # then for real: the dry run left nothing that stops it
    assert len(mailoutbox) == 1


def test_dry_run_after_a_real_run_sends_nothing_again(ward_case, mailoutbox):
    command("--today", DAY.isoformat())
    out, _err = command("--dry-run", "--today", (DAY + datetime.timedelta(days=1)).isoformat())
    assert "would send 0 e-mail(s)" in out
    assert len(mailoutbox) == 1


@pytest.mark.parametrize("value", ["30/11/2026", "2026-02-30", "tomorrow", "2026-13-01", ""])
def test_a_bad_day_is_a_clear_error(value, db):
    with pytest.raises(CommandError, match=r"--today .* is not a day: write it YYYY-MM-DD"):
        command("--today", value)
    assert not Reminder.objects.exists()


def test_a_failed_e_mail_is_an_error_and_stays_pending(ward_case, mailoutbox, settings):
    settings.EMAIL_BACKEND = "tests.reminders.test_mail.FailingBackend"
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 e-mail failure"):
        call_command("send_reminders", "--today", DAY.isoformat(), stdout=out, stderr=err)
    assert "bithu-p1" in err.getvalue() and "try again later" in err.getvalue()
    assert "1 failed" in out.getvalue()
    assert Reminder.objects.get().email == Reminder.Email.PENDING

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    command("--today", DAY.isoformat())
    assert len(mailoutbox) == 1


def test_verbosity_0_prints_nothing(ward_case, mailoutbox):
    out, err = command("--today", DAY.isoformat(), "--verbosity", "0")
    assert out == "" and err == ""
    assert len(mailoutbox) == 1


def test_a_bad_day_exits_non_zero_from_the_shell(tmp_path):
    """manage.py turns the CommandError into exit status 1 and one line on standard error, no traceback."""
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "DEBUG": "1"}
    result = subprocess.run(
        [sys.executable, "manage.py", "send_reminders", "--today", "31/12/2025"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "is not a day: write it YYYY-MM-DD" in result.stderr
    assert "Traceback" not in result.stderr
