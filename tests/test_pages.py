"""The site frame: login, logout, password change, language switch and the home page with its figures."""

import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from branches.models import Officer, Organisation
from members.models import Member, Referral
from members.selectors import OrganisationOverview
from reports import figures

pytestmark = pytest.mark.django_db

User = get_user_model()
PASSWORD = "Dong-Ha-76-mat-khau"
LONG_AGO = datetime.date(2015, 1, 1)


@pytest.fixture
def tree():
    root = Organisation.objects.create(code="DH", name="Đảng bộ thành phố Đông Hà", kind=Organisation.Kind.ROOT)
    committee = Organisation.objects.create(
        code="SYT",
        name="Đảng bộ Sở Y tế",
        kind=Organisation.Kind.COMMITTEE,
        parent=root,
        sector=Organisation.Sector.PUBLIC_SERVICE,
    )
    cell = Organisation.objects.create(
        code="SYT-VP", name="Chi bộ Văn phòng Sở Y tế", kind=Organisation.Kind.CELL, parent=committee
    )
    ward = Organisation.objects.create(
        code="P1", name="Đảng bộ Phường 1", kind=Organisation.Kind.WARD, parent=root, sector=Organisation.Sector.WARD
    )
    residential_cell = Organisation.objects.create(
        code="P1-KP1", name="Chi bộ khu phố 1", kind=Organisation.Kind.RESIDENTIAL_CELL, parent=ward
    )
    outside = Organisation.objects.create(
        code="TINH-SGD", name="Đảng bộ Sở Giáo dục tỉnh", kind=Organisation.Kind.OUTSIDE
    )
    return {
        "root": root,
        "committee": committee,
        "cell": cell,
        "ward": ward,
        "residential_cell": residential_cell,
        "outside": outside,
    }


_card_numbers = iter(range(1, 1_000_000))


def make_member(home: Organisation, **fields) -> Member:
    number = next(_card_numbers)
    values = {
        "card_number": f"DH{number:06d}",
        "full_name": f"Đảng viên {number}",
        "date_of_birth": datetime.date(1980, 1, 1),
        "gender": Member.Gender.MALE,
        "admitted_on": LONG_AGO,
        "home_organisation": home,
    }
    values.update(fields)
    return Member.objects.create(**values)


def make_user(username: str = "bithu", **fields):
    return User.objects.create_user(username=username, password=PASSWORD, **fields)


@pytest.fixture
def secretary(tree):
    user = make_user(first_name="Lan", last_name="Trần Thị")
    Officer.objects.create(user=user, organisation=tree["root"], role=Officer.Role.SECRETARY, started_on=LONG_AGO)
    return user


@pytest.fixture
def referrals(tree):
    """Three members of a workplace cell and one of an outside organisation, in every state a home figure counts."""
    today = timezone.localdate()
    received, awaiting, ended = (make_member(tree["cell"]) for _ in range(3))
    make_member(tree["cell"], left_on=today - datetime.timedelta(days=10), left_reason=Member.LeftReason.DIED)
    from_outside = make_member(tree["outside"])
    common = {"receiving_ward": tree["ward"], "introduced_on": today - datetime.timedelta(days=60)}
    Referral.objects.create(member=received, issuing_organisation=tree["committee"], received_on=today, **common)
    Referral.objects.create(member=awaiting, issuing_organisation=tree["committee"], **common)
    Referral.objects.create(
        member=ended,
        issuing_organisation=tree["committee"],
        ended_on=today - datetime.timedelta(days=1),
        end_reason=Referral.EndReason.MOVED_RESIDENCE,
        **common,
    )
    Referral.objects.create(
        member=from_outside,
        issuing_organisation=tree["outside"],
        received_on=today - datetime.timedelta(days=30),
        **common,
    )


def figure(content: str, name: str) -> int:
    match = re.search(rf'data-figure="{name}">\s*([\d.,]+)\s*<', content)
    assert match, f"figure {name!r} not on the page"
    return int(re.sub(r"[.,]", "", match.group(1)))


# Login, logout, password change


def test_login_page_renders_the_form_in_vietnamese(client):
    response = client.get(reverse("login"))

    assert response.status_code == 200
    content = response.content.decode()
    assert '<html lang="vi">' in content
    assert 'name="username"' in content
    assert 'name="password"' in content
    assert 'name="csrfmiddlewaretoken"' in content
    assert "Mật khẩu" in content  # Django's own Vietnamese label: the Vietnamese catalogue is active


def test_an_english_browser_still_gets_the_vietnamese_ui(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")

    content = response.content.decode()
    assert '<html lang="vi">' in content
    assert "Đăng nhập" in content


def test_the_chosen_language_cookie_wins(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert '<html lang="en">' in client.get(reverse("login")).content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"  # not offered: back to Vietnamese
    assert '<html lang="vi">' in client.get(reverse("login")).content.decode()


def test_anonymous_home_redirects_to_login(client):
    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next=/"


def test_login_with_the_right_password_lands_on_home(client, secretary):
    response = client.post(reverse("login"), {"username": "bithu", "password": PASSWORD}, follow=True)

    assert response.redirect_chain == [(reverse("home"), 302)]
    assert response.status_code == 200
    assert response.context["user"] == secretary


def test_login_with_a_wrong_password_shows_an_error(client, secretary):
    response = client.post(reverse("login"), {"username": "bithu", "password": "sai-mat-khau"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert "alert-danger" in response.content.decode()
    assert not response.context["user"].is_authenticated


def test_a_signed_in_user_visiting_login_goes_home(client, secretary):
    client.force_login(secretary)

    response = client.get(reverse("login"))

    assert response.status_code == 302
    assert response.url == reverse("home")


def test_logout_by_post(client, secretary):
    client.force_login(secretary)

    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert response.url == reverse("login")
    assert client.get(reverse("home")).status_code == 302


def test_password_change(client, secretary):
    client.force_login(secretary)
    assert client.get(reverse("password_change")).status_code == 200

    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "Mat-khau-moi-2025", "new_password2": "Mat-khau-moi-2025"},
        follow=True,
    )

    assert response.redirect_chain == [(reverse("password_change_done"), 302)]
    secretary.refresh_from_db()
    assert secretary.check_password("Mat-khau-moi-2025")


def test_switch_language_to_english(client, secretary):
    client.force_login(secretary)

    client.post(reverse("set_language"), {"language": "en", "next": reverse("home")})
    response = client.get(reverse("home"))

    assert '<html lang="en">' in response.content.decode()


# The frame


def test_base_layout_uses_local_bootstrap_and_no_cdn(client, secretary, tree):
    client.force_login(secretary)

    for url in (reverse("home"), reverse("password_change")):
        content = client.get(url).content.decode()
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in content
        assert 'href="/static/bootstrap/css/bootstrap.min.css"' in content
        assert 'src="/static/bootstrap/js/bootstrap.bundle.min.js"' in content
        assert 'href="/static/css/app.css"' in content
        assert not re.search(r'(?:src|href|action)="(?:https?:)?//', content)
        # (not anywhere in the page: the CSRF token is random text and sometimes holds "cdn")
        assert not re.search(r'(?:src|href)="[^"]*cdn', content, re.IGNORECASE)


def test_header_shows_posts_and_logout_is_a_post_form(client, secretary, tree):
    client.force_login(secretary)

    content = client.get(reverse("home")).content.decode()

    assert "app-post" in content
    assert str(Officer.Role.SECRETARY.label) in content
    assert re.search(rf'<form action="{reverse("logout")}" method="post">', content)
    assert re.search(rf'<form action="{reverse("set_language")}" method="post"', content)


# The home page


def test_home_shows_the_organisation_and_its_figures(client, secretary, tree, referrals):
    client.force_login(secretary)

    response = client.get(reverse("home"))

    assert response.status_code == 200
    content = response.content.decode()
    assert "Đảng bộ thành phố Đông Hà" in content
    assert "<code>DH</code>" in content
    assert figure(content, "members") == 3  # the outside member is not in the tree, the one who died is gone
    assert figure(content, "introduced") == 2  # eligible members with an open referral, as the dashboard counts
    assert figure(content, "referrals-received") == 2  # one of them from the outside organisation
    assert figure(content, "referrals-awaiting") == 1
    assert figure(content, "residential-cells") == 1
    assert "admin-link" not in content


def test_home_shows_one_section_per_post(client, tree, referrals):
    user = make_user("canbo")
    Officer.objects.create(user=user, organisation=tree["ward"], role=Officer.Role.STAFF, started_on=LONG_AGO)
    Officer.objects.create(user=user, organisation=tree["committee"], role=Officer.Role.VIEWER, started_on=LONG_AGO)
    client.force_login(user)

    content = client.get(reverse("home")).content.decode()

    sections = re.findall(r'data-organisation="([^"]+)"', content)
    assert sorted(sections) == ["P1", "SYT"]


def test_ended_posts_are_not_shown(client, tree):
    user = make_user("cu")
    Officer.objects.create(
        user=user,
        organisation=tree["ward"],
        role=Officer.Role.STAFF,
        started_on=LONG_AGO,
        ended_on=datetime.date(2020, 1, 1),
    )
    client.force_login(user)

    content = client.get(reverse("home")).content.decode()

    assert 'id="no-post"' in content
    assert "data-organisation" not in content


def test_home_without_a_post_says_so_politely(client):
    client.force_login(make_user("moi"))

    response = client.get(reverse("home"))

    assert response.status_code == 200
    assert response.context["posts"] == []
    assert 'id="no-post"' in response.content.decode()


def test_staff_see_a_link_to_the_admin(client, tree):
    client.force_login(make_user("hotro", is_staff=True))

    content = client.get(reverse("home")).content.decode()

    assert 'id="admin-link"' in content
    assert f'href="{reverse("admin:index")}"' in content


def test_home_runs_the_same_number_of_queries_for_2_and_20_members(client, secretary, tree):
    client.force_login(secretary)

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("home"))
        assert response.status_code == 200
        return len(queries)

    for _ in range(2):
        make_member(tree["cell"])
    with_two = count_queries()
    for _ in range(18):
        make_member(tree["cell"])
    with_twenty = count_queries()

    assert with_two == with_twenty
    assert figure(client.get(reverse("home")).content.decode(), "members") == 20


def test_the_homes_figures_are_the_dashboards_headline_of_today_read_stored(client, tree, referrals, monkeypatch):
    """The first view counts the ward's headline and stores it; the next reads it in one query, until a write under
    the ward."""
    user = make_user("phuong")
    Officer.objects.create(user=user, organisation=tree["ward"], role=Officer.Role.SECRETARY, started_on=LONG_AGO)
    client.force_login(user)
    today = timezone.localdate()
    first = client.get(reverse("home"))
    [(_post, overview)] = first.context["posts"]
    assert overview == OrganisationOverview.of_headline(tree["ward"], today, figures.headline(tree["ward"], today))
    assert overview.members == 0  # the ward's own cells have no members here
    assert overview.referrals_received == 2
    assert overview.referrals_awaiting_reception == 1
    assert overview.referrals_addressed_open == 3
    assert overview.residential_cells == 1
    monkeypatch.setattr(figures, "headline", lambda *args: pytest.fail("counted again"))
    with CaptureQueriesContext(connection) as queries:
        again = client.get(reverse("home"))
    assert again.context["posts"][0][1] == overview
    assert sum("reports_figuresnapshot" in q["sql"] for q in queries) == 1
    monkeypatch.undo()
    make_member(tree["residential_cell"])
    after = client.get(reverse("home")).context["posts"][0][1]
    assert after.members == overview.members + 1


def test_the_homes_figures_as_of_a_past_day(tree, referrals):
    """Before the introductions nothing was open; the member who has since died still counted."""
    day = timezone.localdate() - datetime.timedelta(days=90)

    overview = OrganisationOverview.of_headline(tree["root"], day, figures.headline(tree["root"], day))

    assert overview.members == 4
    assert overview.referrals_addressed_open == 0
    assert overview.residential_cells == 1


def test_five_wrong_passwords_lock_the_username_on_that_computer_for_a_while(client, db):
    from tests.factories import make_user

    make_user("bithu", password="Dung-mat-khau-2026")
    make_user("phobithu", password="Dung-mat-khau-2026")
    for _attempt in range(4):
        wrong = client.post(reverse("login"), {"username": "bithu", "password": "sai"})
        assert wrong.status_code == 200
    fifth = client.post(reverse("login"), {"username": "bithu", "password": "sai"})
    assert fifth.status_code == 429
    locked = client.post(reverse("login"), {"username": "bithu", "password": "Dung-mat-khau-2026"})
    assert locked.status_code == 429
    assert 'id="locked-out"' in locked.content.decode()
    # the same office computer, another user: not locked
    other = client.post(reverse("login"), {"username": "phobithu", "password": "Dung-mat-khau-2026"})
    assert other.status_code == 302
