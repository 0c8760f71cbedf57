"""Builds the Đông Hà demo data set.

The data tells a story the seed article tells: as of 30/09/2018 the city organisation (Đông Hà, an upper-level
committee under the province of Quảng Trị) has 6,150 members in 35 grassroots organisations, 2,142 eligible working
members of whom 2,127 are introduced to their residence, and its wards have received 3,558 members of outside
organisations. Around that day, life goes on: members are admitted, retire into their residential cell, move between
wards, change workplace, die; cells meet every half-year (a few skip); comments come back late or not at all. Every
member belongs to one *group* whose dates are chosen so that the figures as of 30/09/2018 come out exact under the
definitions of reports/figures (checked at the end of the build).

On 01/07/2025 the reform happens through the restructure services (``restructures.services.restructure``): the nine
wards merge into two ward committees under the province, their khu phố merge two by two, the city's committees and
grassroots cells move under the province, and the city committee ends. The story is drawn first as a whole; the
rows dated before the reform are inserted, the reform is applied, then the rows dated on or after it are inserted in
the successors (steps after the reform on earlier referrals are recorded on them then). No event of the story falls
on 30/06/2025 or 01/07/2025, so the province's figures are the same on both days.

All rows are created with bulk inserts in one transaction; the whole set takes some seconds.
"""

import dataclasses
import datetime
import io
import itertools
import random
from collections import defaultdict

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.db import connection, transaction
from django.db.models import PROTECT, Exists, Model, OuterRef

from branches.models import Officer, Organisation, OrganisationName, Restructure
from branches.services import organisation_update
from dongha76.garbage import collected_rarely
from dongha76.text import search_key
from members.demo import catalogue
from members.models import (
    Attendance,
    Exemption,
    Meeting,
    Member,
    MemberHome,
    Placement,
    Referral,
    ResidenceComment,
    YearEndRating,
)
from members.models.member import in_subtree_on_q
from members.periods import HalfYear, half_years_between
from reports import stale

Kind = Organisation.Kind
Day = datetime.date

SEED_DAY = Day(2018, 9, 30)
REFORM_DAY = Day(2025, 7, 1)
# No event of the story on these days: the province's figures are equal on the eve of the reform and on its day.
QUIET_DAYS = frozenset({REFORM_DAY - datetime.timedelta(days=1), REFORM_DAY})
PROVINCE = "QT"
CITY = "DH"
# The seed article's figures as of SEED_DAY, and how many members each group contributes to them.
SEED_FIGURES = {
    "members": 6150,
    "grassroots_organisations": 35,
    "subordinate_cells": 233,
    "residential_cells": 83,
    "eligible": 2142,
    "introduced": 2127,
    "received_from_outside": 3558,
}
ELIGIBLE_NOT_INTRODUCED_NEVER = 6  # still waiting today: the to-do list shows them
ELIGIBLE_INTRODUCED_LATE = SEED_FIGURES["eligible"] - SEED_FIGURES["introduced"] - ELIGIBLE_NOT_INTRODUCED_NEVER
ARMED_FORCES_EXEMPT = 196  # exempt from introduction under Regulation 76 (special duty)
RETIRED_LATER = 312  # eligible in 2018 at their workplace, retired afterwards into their residential cell
ELIGIBLE_STILL_WORKING = SEED_FIGURES["eligible"] - RETIRED_LATER
RETIRED_AT_RESIDENCE = SEED_FIGURES["members"] - SEED_FIGURES["eligible"] - ARMED_FORCES_EXEMPT  # of residential cells
DIED_BEFORE_SEED_DAY = 38
ADMITTED_AFTER_SEED_DAY = 420
OUTSIDE_RECEIVED = SEED_FIGURES["received_from_outside"]
OUTSIDE_AWAITING_ON_SEED_DAY = 45
OUTSIDE_ARRIVED_LATER = 620
OUTSIDE_GONE_BEFORE = 140

# The weak spots the article names, made concrete.
QUIET_COMMITTEES = ("THUE", "BD", "CHO")  # no introduction recorded this year: "keep no tracking book"
# No reception recorded this year: Đông Lễ, or after the reform the ward it merged into.
QUIET_WARDS = ("DLE", "NDH")
DEMO_PASSWORD = "dongha76-demo"  # noqa: S105 - published in the README on purpose
DEMO_USERS = ("thanhuy", "phuong1", "phuong2", "khupho1", "coquan1")


@dataclasses.dataclass
class SeedResult:
    organisations: int
    members: int
    referrals: int
    meetings: int
    attendances: int
    comments: int
    ratings: int
    figures: dict


class DemoDataError(Exception):
    pass


def domain_row_counts() -> dict[str, int]:
    return {
        "organisations": Organisation.objects.count(),
        "members": Member.objects.count(),
        "referrals": Referral.objects.count(),
    }


def clear_domain_data() -> None:
    """Delete every organisation, member and what hangs on them, with their history, and the demo users.

    Plain DELETE statements, child tables first: going through the ORM would load each of the ~250,000 rows to send
    its history signals, which takes minutes on PostgreSQL.
    """
    models = (
        Attendance,
        Meeting,
        ResidenceComment,
        YearEndRating,
        Placement,
        Referral,
        Exemption,
        MemberHome,
        Member,
        Officer,
    )
    tables = [
        table
        for model in models
        for table in (
            model._meta.db_table,
            *([model.history.model._meta.db_table] if hasattr(model, "history") else []),
        )
    ]
    with stale.suspended_for_a_bulk_load(connection), connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")  # noqa: S608 - names from the models
        # The tree's own records of the reform, and the successors (protected references) before the rows.
        Restructure.objects.all().delete()
        OrganisationName.objects.all().delete()
        for model in (Restructure, OrganisationName):
            model.history.all().delete()
        Organisation.objects.filter(successor__isnull=False).update(successor=None)
        # What the apps above keep about an organisation (reminders, their thresholds, comment rounds) goes with the
        # tree; found through the relations, so that members/ imports none of them.
        for relation in Organisation._meta.related_objects:
            model = relation.related_model
            if relation.on_delete is PROTECT and model._meta.app_label != "branches" and model not in models:
                model._base_manager.all().delete()
                if hasattr(model, "history"):
                    model.history.all().delete()
        # Parents are protected: the deepest organisations go first.
        organisation_table = connection.ops.quote_name(Organisation._meta.db_table)
        depths = sorted({path.count("/") for path in Organisation.objects.values_list("path", flat=True)}, reverse=True)
        for depth in depths:
            pks = [pk for pk, path in Organisation.objects.values_list("pk", "path") if path.count("/") == depth]
            Organisation.objects.filter(pk__in=pks).delete()
        del organisation_table
    Organisation.history.all().delete()
    get_user_model().objects.filter(username__in=DEMO_USERS).delete()


def seed_figures(root: Organisation, day: Day) -> dict[str, int]:
    """The seed table's figures for ``root`` (the city), by the definitions the reports use (kept here as the build's
    own check)."""
    orgs = Organisation.objects.subtree(root).valid_on(day)
    members = Member.objects.in_subtree_on(root, day).members_on(day)
    eligible = members.eligible_on(day)
    introduced = eligible.filter(Exists(Referral.objects.active_on(day).filter(member=OuterRef("pk"))))
    received_outside = (
        Referral.objects.received_as_of(day)
        .filter(receiving_ward__path__startswith=root.path)
        .exclude(in_subtree_on_q(root, day, prefix="member__"))
    )
    return {
        "members": members.count(),
        "grassroots_organisations": orgs.filter(kind__in=Organisation.GRASSROOTS_KINDS).count(),
        "subordinate_cells": orgs.filter(kind__in=Organisation.SUBORDINATE_CELL_KINDS).count(),
        "residential_cells": orgs.filter(kind=Kind.RESIDENTIAL_CELL).count(),
        "eligible": eligible.count(),
        "introduced": introduced.count(),
        "received_from_outside": received_outside.count(),
    }


@dataclasses.dataclass
class Workplace:
    cell: Organisation  # the member's home cell
    issuer: Organisation  # the grassroots organisation that signs the introduction letter


class DemoBuilder:
    def __init__(self, *, seed: int, today: Day):
        if today <= Day(2019, 1, 1):
            raise DemoDataError("The demo data tells the story from 2017 on: 'today' must be after 2019.")
        self.rng = random.Random(seed)
        self.today = today
        self.reform = today >= REFORM_DAY  # the story reaches the reform of 01/07/2025
        self.card_numbers = itertools.count(48_000_001)
        self.national_id_serial = itertools.count(100_001)
        self.members: list[Member] = []
        self.referrals: list[Referral] = []
        self.exemptions: list[Exemption] = []
        # member index -> periods exempt from residence activities, for attendance and comments
        self.activity_exemptions: dict[int, list[tuple[Day, Day | None]]] = defaultdict(list)
        self.chronic_absentees: set[int] = set()

    # -- small random helpers -------------------------------------------------------------------------------
    def day_between(self, first: Day, last: Day) -> Day:
        if last < first:
            last = first
        return self.not_quiet(first + datetime.timedelta(days=self.rng.randint(0, (last - first).days)), first, last)

    def later(self, day: Day, low: int, high: int) -> Day:
        first, last = day + datetime.timedelta(days=low), day + datetime.timedelta(days=high)
        return self.not_quiet(day + datetime.timedelta(days=self.rng.randint(low, high)), first, last)

    @staticmethod
    def not_quiet(day: Day, first: Day, last: Day) -> Day:
        """``day``, or a day two days away within [first, last] (later when it can), when it is one of the days
        around the reform on which nothing happens."""
        if day not in QUIET_DAYS:
            return day
        step = datetime.timedelta(days=2)
        if day + step <= last or day - step < first:
            return day + step
        return day - step

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    @staticmethod
    def years_after(day: Day, years: int) -> Day:
        try:
            return day.replace(year=day.year + years)
        except ValueError:  # 29 February
            return day.replace(year=day.year + years, day=28)

    # -- the tree ------------------------------------------------------------------------------------------
    def build_tree(self) -> None:
        since = Day(1997, 1, 1)
        self.province = Organisation.objects.create(
            code=PROVINCE, name="Đảng bộ tỉnh Quảng Trị", kind=Kind.ROOT, sector="party_state", valid_from=since
        )
        # The city committee: an upper-level committee under the province until the reform ends it.
        self.root = self._child(
            CITY, "Đảng bộ thành phố Đông Hà", Kind.UPPER_COMMITTEE, self.province, "party_state", since
        )
        self.wards: list[Organisation] = []
        self.residential_cells: dict[int, list[Organisation]] = {}
        self.workplaces: list[Workplace] = []
        self.armed_workplaces: list[Workplace] = []
        self.agency_cells: dict[int, Organisation] = {}
        self.city_units: list[tuple[Organisation, list[Organisation]]] = []  # under the city, with their cells
        for code, name, cell_count in catalogue.WARDS:
            ward = self._child(code, f"Đảng bộ {name}", Kind.WARD, self.root, "ward", since)
            self.wards.append(ward)
            self.residential_cells[ward.pk] = [
                self._child(f"{code}-KP{n}", f"Chi bộ Khu phố {n}, {name}", Kind.RESIDENTIAL_CELL, ward, "ward", since)
                for n in range(1, cell_count + 1)
            ]
            agency = self._child(f"{code}-CQ", f"Chi bộ Cơ quan {name}", Kind.CELL, ward, "ward", since)
            self.agency_cells[ward.pk] = agency
            self.workplaces.append(Workplace(agency, ward))
        for code, name, sector, cells in catalogue.COMMITTEES:
            committee = self._child(code, name, Kind.COMMITTEE, self.root, sector, since)
            self.city_units.append((committee, []))
            for m, cell_name in enumerate(cells, start=1):
                cell = self._child(f"{code}-{m:02d}", f"Chi bộ {cell_name}", Kind.CELL, committee, sector, since)
                if cell_name == "Phòng Lao động - Thương binh và Xã hội":
                    # Merged into the Home Affairs office in 2025: kept, with its end date, for past figures.
                    cell.valid_to = Day(2025, 3, 1)
                    cell.save(update_fields=["valid_to"])
                    continue
                self.city_units[-1][1].append(cell)
                target = self.armed_workplaces if sector == "armed_forces" else self.workplaces
                target.append(Workplace(cell, committee))
        for code, name, sector in catalogue.GRASSROOTS_CELLS:
            cell = self._child(code, name, Kind.GRASSROOTS_CELL, self.root, sector, since)
            self.city_units.append((cell, []))
            self.workplaces.append(Workplace(cell, cell))
        # Dissolved before the seed day when the company was equitised: counts on no day after.
        dissolved = self._child(
            "GACHNGOI", "Chi bộ Xí nghiệp Gạch ngói Đông Hà", Kind.GRASSROOTS_CELL, self.root, "enterprise", since
        )
        dissolved.valid_to = Day(2015, 7, 1)
        dissolved.save(update_fields=["valid_to"])
        self.outside = [
            Organisation.objects.create(code=code, name=name, kind=Kind.OUTSIDE, sector=sector, valid_from=since)
            for code, name, sector in catalogue.OUTSIDE
        ]
        self.ward_weights = [len(self.residential_cells[w.pk]) for w in self.wards]
        self.plan_reform()

    # -- the reform of 01/07/2025 ------------------------------------------------------------------------------
    def plan_reform(self) -> None:
        """The restructures of the reform (the services' inputs) and the code of each organisation's successor, known
        before the story is drawn so that the story can tell where it goes on after the reform."""
        self.successor_code: dict[int, str] = {}
        self.new_names: dict[str, str] = {}  # the merged khu phố and agency cells take names of their own
        self.reform_merges: list[dict] = []
        wards = {ward.code: ward for ward in self.wards}
        for new_code, new_name, short_name, old_codes in catalogue.REFORM_WARDS:
            children, number = {}, 0
            for old_code in old_codes:
                ward = wards[old_code]
                self.successor_code[ward.pk] = new_code
                cells = self.residential_cells[ward.pk]
                groups = [cells[i : i + 2] for i in range(0, len(cells) - len(cells) % 2, 2)]
                if len(cells) % 2:
                    groups[-1].append(cells[-1])
                for group in groups:
                    number += 1
                    code = f"{new_code}-KP{number}"
                    self.new_names[code] = f"Chi bộ Khu phố {number}, {short_name}"
                    for cell in group:
                        children[cell.code] = self.successor_code[cell.pk] = code
                agency = self.agency_cells[ward.pk]
                children[agency.code] = self.successor_code[agency.pk] = f"{new_code}-CQ"
            self.new_names[f"{new_code}-CQ"] = f"Chi bộ Cơ quan {short_name}"
            self.reform_merges.append(
                {"codes": list(old_codes), "new_code": new_code, "new_name": new_name, "children": children}
            )
        # The city's committees and grassroots cells go on under the province (a move starts a successor there).
        self.reform_moves: list[dict] = []
        for unit, cells in self.city_units:
            new_code = f"{unit.code}-{REFORM_DAY.year}"
            self.successor_code[unit.pk] = new_code
            children = {}
            for cell in cells:
                if cell.valid_to is None:
                    children[cell.code] = self.successor_code[cell.pk] = f"{new_code}-{cell.code.rsplit('-', 1)[1]}"
            self.reform_moves.append({"code": unit.code, "new_code": new_code, "children": children})

    def code_on(self, organisation: Organisation, day: Day) -> str:
        """The code of the organisation standing for ``organisation`` of the story on ``day`` (a successor's after the
        reform): the ward a referral is received in, the committee that signs a letter."""
        if self.reform and day >= REFORM_DAY:
            return self.successor_code.get(organisation.pk, organisation.code)
        return organisation.code

    def apply_reform(self) -> None:
        """The reform, through the restructure services: every home and open placement follows, posts too."""
        from restructures.services import restructure  # the demo tells a story the whole app knows

        note = "Sắp xếp tổ chức bộ máy, kết thúc hoạt động cấp huyện từ 01/07/2025."
        common = {"effective_on": REFORM_DAY, "by": None, "note": note, "officers": "follow"}
        for params in self.reform_merges:
            restructure("merge", parent=PROVINCE, **params, **common)
        for params in self.reform_moves:
            restructure("move", parent=PROVINCE, **params, **common)
        for organisation in Organisation.objects.filter(code__in=self.new_names):
            organisation_update(organisation=organisation, name=self.new_names[organisation.code])
        organisation_update(organisation=self.root, valid_to=REFORM_DAY)
        by_code = Organisation.objects.in_bulk(set(self.successor_code.values()), field_name="code")
        self.successors = {pk: by_code[code] for pk, code in self.successor_code.items()}

    def now(self, organisation: Organisation) -> Organisation:
        """The organisation of today standing for ``organisation`` of the story (its successor after the reform)."""
        return self.successors.get(organisation.pk, organisation) if self.reform else organisation

    def _child(self, code, name, kind, parent, sector, since) -> Organisation:
        return Organisation.objects.create(
            code=code, name=name, kind=kind, parent=parent, sector=sector, valid_from=since
        )

    # -- people --------------------------------------------------------------------------------------------
    def new_member(self, *, home: Organisation, born: tuple[int, int], admitted_latest: Day, ward=None) -> int:
        gender = "female" if self.chance(0.46) else "male"
        family = self.rng.choices(
            [n for n, _w in catalogue.FAMILY_NAMES], weights=[w for _n, w in catalogue.FAMILY_NAMES]
        )[0]
        full_name = " ".join(
            (family, self.rng.choice(catalogue.MIDDLE_NAMES[gender]), self.rng.choice(catalogue.GIVEN_NAMES[gender]))
        )
        born_on = self.day_between(Day(born[0], 1, 1), Day(born[1], 12, 31))
        latest = min(admitted_latest, self.years_after(born_on, 40), self.today)
        admitted_on = self.day_between(min(self.years_after(born_on, 19), latest), latest)
        ward = ward or self.pick_ward()
        national_id = ""
        if self.chance(0.85):
            century_gender = (0 if born_on.year < 2000 else 2) + (1 if gender == "female" else 0)
            national_id = f"045{century_gender}{born_on.year % 100:02d}{next(self.national_id_serial):06d}"
        member = Member(
            card_number=str(next(self.card_numbers)),
            full_name=full_name,
            search_name=search_key(full_name),
            date_of_birth=born_on,
            gender=gender,
            national_id=national_id,
            phone=f"09{self.rng.randint(10_000_000, 99_999_999)}" if self.chance(0.8) else "",
            admitted_on=admitted_on,
            official_on=self.later(admitted_on, 365, 400),
            home_organisation=home,
            residential_address=(
                f"Số {self.rng.randint(1, 220)} đường {self.rng.choice(catalogue.STREETS)}, "
                f"{self.rng.choice(self.residential_cells[ward.pk]).name.split(', ')[0].replace('Chi bộ ', '')}, "
                f"{ward.name.replace('Đảng bộ ', '')}, thành phố Đông Hà"
            ),
        )
        if member.official_on and member.official_on > self.today:
            member.official_on = None
        member._demo_ward = ward  # the ward of residence, used while building
        member._demo_homes = [home]  # the home since admission, then (home, from) of each move
        self.members.append(member)
        return len(self.members) - 1

    @staticmethod
    def move_home(member: Member, home: Organisation, on: Day) -> None:
        """The member belongs to ``home`` from ``on`` (a transfer, a retirement into a residential cell)."""
        member.home_organisation = home
        member._demo_homes.append((home, on))

    @staticmethod
    def home_periods(member: Member) -> list[tuple[Organisation, Day, Day | None]]:
        """The member's home history of the story: (home, from, until), the last one open."""
        first, *moves = member._demo_homes
        starts = [(first, member.admitted_on), *moves]
        return [
            (home, started_on, following[1] if following else None)
            for (home, started_on), following in itertools.zip_longest(starts, starts[1:])
        ]

    def pick_ward(self, *, other_than: Organisation | None = None) -> Organisation:
        while True:
            ward = self.rng.choices(self.wards, weights=self.ward_weights)[0]
            if ward != other_than:
                return ward

    def pick_workplace(self, *, other_than: Workplace | None = None) -> Workplace:
        while True:
            workplace = self.rng.choice(self.workplaces)
            if workplace is not other_than:
                return workplace

    # -- referrals -----------------------------------------------------------------------------------------
    def introduce(
        self,
        index: int,
        *,
        issuer: Organisation,
        ward: Organisation,
        introduced_on: Day,
        ended_on: Day | None = None,
        end_reason: str = "",
        received_after: Day | None = None,
        receive: bool = True,
        place: bool = True,
    ) -> Referral:
        """One referral with its follow-up steps, each dated after the last and before the end and today."""
        limit = min(ended_on, self.today) if ended_on else self.today
        received_on = placed_on = reported_on = cell = None
        recent = introduced_on > self.today - datetime.timedelta(days=150)
        if receive and not (recent and self.chance(0.15)):
            received_on = self.later(introduced_on, 2, 25)
            if received_after and received_on <= received_after:
                received_on = self.later(received_after, 1, 40)
            if self.code_on(ward, received_on) in QUIET_WARDS and received_on.year == self.today.year:
                received_on = None
        if received_on and received_on > limit:
            received_on = None
        if received_on and place and not (recent and self.chance(0.1)):
            placed_on = self.later(received_on, 3, 30)
            if placed_on > limit:
                placed_on = None
        if placed_on and self.reform and introduced_on < REFORM_DAY <= placed_on:
            # A referral is first placed in a cell of the ward it was addressed to: the former ward places the
            # member before it merges.
            eve = REFORM_DAY - datetime.timedelta(days=2)
            if received_on >= REFORM_DAY:
                received_on = self.day_between(introduced_on, eve)
            placed_on = self.day_between(received_on, eve)
        if placed_on:
            cell = self.rng.choice(self.residential_cells[ward.pk])
            if self.chance(0.95):
                reported_on = self.later(placed_on, 2, 20)
                if reported_on > limit:
                    reported_on = None
        referral = Referral(
            member=self.members[index],
            issuing_organisation=issuer,
            receiving_ward=ward,
            introduced_on=introduced_on,
            received_on=received_on,
            residential_cell=cell,
            placed_on=placed_on,
            reported_on=reported_on,
            ended_on=ended_on,
            end_reason=end_reason,
        )
        referral._demo_member_index = index
        referral._demo_cell = cell  # the cell of the story (a successor's after the reform)
        self.referrals.append(referral)
        return referral

    def records_this(self, issuer: Organisation, day: Day) -> bool:
        """The quiet committees record no introduction this year: their members wait to be introduced."""
        return not (issuer.code in QUIET_COMMITTEES and day.year == self.today.year)

    def first_introduction_day(self, admitted_on: Day, latest: Day) -> Day:
        # Regulation 76 took effect in 2000: committees introduced their existing members in 2001-2003, new ones
        # within months of admission.
        start = max(self.later(admitted_on, 20, 150), self.day_between(Day(2001, 1, 1), Day(2003, 6, 30)))
        return max(min(start, latest), admitted_on)

    def life_after_seed_day(self, index: int, referral: Referral, workplace: Workplace | None) -> None:
        """What happens to a referred member after 30/09/2018: a move, a new workplace, an exemption, a death."""
        member = self.members[index]
        first = max(SEED_DAY + datetime.timedelta(days=1), referral.introduced_on + datetime.timedelta(days=30))
        last = self.today - datetime.timedelta(days=20)
        if first > last:
            return
        roll = self.rng.random()
        if roll < 0.06:
            moved_on = self.day_between(first, last)
            referral.ended_on, referral.end_reason = moved_on, Referral.EndReason.MOVED_RESIDENCE
            self._truncate(referral)
            ward = self.pick_ward(other_than=referral.receiving_ward)
            member._demo_ward = ward
            issuer = referral.issuing_organisation
            if self.records_this(issuer, moved_on):
                self.introduce(index, issuer=issuer, ward=ward, introduced_on=moved_on)
        elif roll < 0.09:
            changed_on = self.day_between(first, last)
            referral.ended_on, referral.end_reason = changed_on, Referral.EndReason.CHANGED_WORKPLACE
            self._truncate(referral)
            if workplace is None:  # a member of an outside organisation moves to another outside organisation
                issuer = self.rng.choice([o for o in self.outside if o != member.home_organisation])
                self.move_home(member, issuer, changed_on)
            else:  # a transfer to another workplace cell (chuyển sinh hoạt)
                new_workplace = self.pick_workplace(other_than=workplace)
                self.move_home(member, new_workplace.cell, changed_on)
                issuer = new_workplace.issuer
            introduced_on = self.later(changed_on, 0, 30)
            if introduced_on <= self.today and self.records_this(issuer, introduced_on):
                self.introduce(index, issuer=issuer, ward=referral.receiving_ward, introduced_on=introduced_on)
        elif roll < 0.11:
            member.left_on = self.day_between(first, last)
            member.left_reason = Member.LeftReason.DIED if self.chance(0.8) else Member.LeftReason.LEFT_PARTY
            referral.ended_on, referral.end_reason = member.left_on, member.left_reason
            self._truncate(referral)
        elif roll < 0.135:
            started_on = self.day_between(max(Day(2017, 1, 1), member.admitted_on), last)
            ended_on = self.later(started_on, 200, 1100)
            ended_on = ended_on if ended_on < self.today else None
            self.exemptions.append(
                Exemption(
                    member=member,
                    kind=Exemption.Kind.ACTIVITIES,
                    reason=self.rng.choice(catalogue.ACTIVITY_EXEMPTION_REASONS),
                    started_on=started_on,
                    ended_on=ended_on,
                )
            )
            self.activity_exemptions[index].append((started_on, ended_on))

    @staticmethod
    def _truncate(referral: Referral) -> None:
        """Steps dated on or after the end never happened."""
        end = referral.ended_on
        if referral.received_on and referral.received_on >= end:
            referral.received_on = None
        if referral.placed_on and (referral.received_on is None or referral.placed_on >= end):
            referral.placed_on, referral.residential_cell = None, None
        if referral.reported_on and (referral.placed_on is None or referral.reported_on >= end):
            referral.reported_on = None

    # -- the groups ----------------------------------------------------------------------------------------
    def build_members(self) -> None:
        latest = SEED_DAY - datetime.timedelta(days=40)
        self._eligible_members(latest)
        self._armed_forces(latest)
        self._retired_later(latest)
        self._retired_at_residence()
        self._admitted_after_seed_day()
        self._outside_members(latest)
        self._every_committee_introduces_this_year()
        self._named_example()

    def _eligible_members(self, latest: Day) -> None:
        awaiting_reception, awaiting_placement = 11, 6
        for n in range(ELIGIBLE_STILL_WORKING):
            workplace = self.pick_workplace()
            index = self.new_member(home=workplace.cell, born=(1960, 1995), admitted_latest=latest)
            member = self.members[index]
            ward = member._demo_ward
            if n < ELIGIBLE_NOT_INTRODUCED_NEVER:
                continue
            if n < ELIGIBLE_NOT_INTRODUCED_NEVER + ELIGIBLE_INTRODUCED_LATE:
                introduced_on = self.later(SEED_DAY, 10, 200)
                self.introduce(index, issuer=workplace.issuer, ward=ward, introduced_on=introduced_on)
                continue
            if awaiting_reception:
                awaiting_reception -= 1
                introduced_on = max(
                    self.day_between(SEED_DAY - datetime.timedelta(days=50), SEED_DAY), member.admitted_on
                )
                referral = self.introduce(
                    index, issuer=workplace.issuer, ward=ward, introduced_on=introduced_on, received_after=SEED_DAY
                )
            else:
                introduced_on = self.first_introduction_day(member.admitted_on, SEED_DAY - datetime.timedelta(days=60))
                referral = self.introduce(index, issuer=workplace.issuer, ward=ward, introduced_on=introduced_on)
                if awaiting_placement and referral.placed_on:
                    awaiting_placement -= 1
                    referral.placed_on = self.later(SEED_DAY, 5, 60)
                    if referral.reported_on:
                        referral.reported_on = self.later(referral.placed_on, 2, 20)
            if n % 97 == 0:
                self.chronic_absentees.add(index)
            self.life_after_seed_day(index, referral, workplace)

    def _armed_forces(self, latest: Day) -> None:
        for _n in range(ARMED_FORCES_EXEMPT):
            workplace = self.rng.choice(self.armed_workplaces)
            index = self.new_member(home=workplace.cell, born=(1965, 1995), admitted_latest=latest)
            member = self.members[index]
            ended_on = None
            if self.chance(0.6):  # Regulation 213 (2020) brought most of them into residence activities
                ended_on = self.day_between(Day(2021, 1, 1), Day(2021, 6, 30))
            self.exemptions.append(
                Exemption(
                    member=member,
                    kind=Exemption.Kind.INTRODUCTION,
                    reason="Lực lượng vũ trang làm nhiệm vụ đặc thù (Quy định 76-QĐ/TW)",
                    started_on=member.admitted_on,
                    ended_on=ended_on,
                )
            )
            if ended_on:
                self.introduce(
                    index,
                    issuer=workplace.issuer,
                    ward=member._demo_ward,
                    introduced_on=self.later(ended_on, 7, 60),
                )

    def _retired_later(self, latest: Day) -> None:
        for _n in range(RETIRED_LATER):
            workplace = self.pick_workplace()
            index = self.new_member(home=workplace.cell, born=(1956, 1962), admitted_latest=latest)
            member = self.members[index]
            retired_on = self.day_between(SEED_DAY + datetime.timedelta(days=1), self.today - datetime.timedelta(30))
            introduced_on = self.first_introduction_day(member.admitted_on, SEED_DAY - datetime.timedelta(days=60))
            referral = self.introduce(
                index,
                issuer=workplace.issuer,
                ward=member._demo_ward,
                introduced_on=introduced_on,
                ended_on=retired_on,
                end_reason=Referral.EndReason.RETIRED,
            )
            member.retired_on = retired_on
            # Retired: from that day the member belongs to the residential cell where they met as a referred member.
            cell = referral.residential_cell or self.rng.choice(self.residential_cells[member._demo_ward.pk])
            self.move_home(member, cell, retired_on)

    def _retired_at_residence(self) -> None:
        for n in range(RETIRED_AT_RESIDENCE + DIED_BEFORE_SEED_DAY):
            ward = self.pick_ward()
            index = self.new_member(
                home=self.rng.choice(self.residential_cells[ward.pk]),
                born=(1932, 1958),
                admitted_latest=Day(1998, 12, 31),
                ward=ward,
            )
            member = self.members[index]
            member.retired_on = self.day_between(
                max(self.years_after(member.date_of_birth, 55), self.later(member.admitted_on, 365, 400)),
                SEED_DAY - datetime.timedelta(days=1),
            )
            if n < DIED_BEFORE_SEED_DAY:
                member.left_on = self.day_between(Day(2016, 1, 1), SEED_DAY - datetime.timedelta(days=1))
                member.left_reason = Member.LeftReason.DIED
            elif self.chance(0.12):
                member.left_on = self.day_between(SEED_DAY + datetime.timedelta(days=1), self.today)
                member.left_reason = Member.LeftReason.DIED
            member.retired_on = min(member.retired_on, member.left_on or member.retired_on)
            member.retired_on = max(member.retired_on, member.admitted_on)

    def _admitted_after_seed_day(self) -> None:
        for _n in range(ADMITTED_AFTER_SEED_DAY):
            workplace = self.pick_workplace()
            index = self.new_member(home=workplace.cell, born=(1985, 2000), admitted_latest=self.today)
            member = self.members[index]
            member.admitted_on = self.day_between(
                max(SEED_DAY + datetime.timedelta(days=1), self.years_after(member.date_of_birth, 18)), self.today
            )
            member.official_on = self.later(member.admitted_on, 365, 400)
            if member.official_on > self.today:
                member.official_on = None
            introduced_on = self.later(member.admitted_on, 30, 200)
            if introduced_on > self.today or not self.records_this(workplace.issuer, introduced_on):
                continue  # eligible, not introduced yet
            referral = self.introduce(
                index, issuer=workplace.issuer, ward=member._demo_ward, introduced_on=introduced_on
            )
            if self.chance(0.5):
                self.life_after_seed_day(index, referral, workplace)

    def _outside_members(self, latest: Day) -> None:
        for n in range(OUTSIDE_RECEIVED + OUTSIDE_AWAITING_ON_SEED_DAY + OUTSIDE_ARRIVED_LATER + OUTSIDE_GONE_BEFORE):
            organisation = self.rng.choice(self.outside)
            gone_before = n >= OUTSIDE_RECEIVED + OUTSIDE_AWAITING_ON_SEED_DAY + OUTSIDE_ARRIVED_LATER
            index = self.new_member(
                home=organisation, born=(1962, 1990), admitted_latest=Day(2012, 12, 31) if gone_before else latest
            )
            member = self.members[index]
            ward = member._demo_ward
            if n < OUTSIDE_RECEIVED:
                introduced_on = self.day_between(Day(2003, 1, 1), SEED_DAY - datetime.timedelta(days=30))
                introduced_on = max(introduced_on, self.later(member.admitted_on, 10, 60))
                if introduced_on > SEED_DAY - datetime.timedelta(days=30):
                    introduced_on = SEED_DAY - datetime.timedelta(days=30)
                referral = self.introduce(index, issuer=organisation, ward=ward, introduced_on=introduced_on)
                if n % 89 == 0:
                    self.chronic_absentees.add(index)
                self.life_after_seed_day(index, referral, None)
            elif n < OUTSIDE_RECEIVED + OUTSIDE_AWAITING_ON_SEED_DAY:
                introduced_on = self.day_between(SEED_DAY - datetime.timedelta(days=25), SEED_DAY)
                self.introduce(
                    index, issuer=organisation, ward=ward, introduced_on=introduced_on, received_after=SEED_DAY
                )
            elif n < OUTSIDE_RECEIVED + OUTSIDE_AWAITING_ON_SEED_DAY + OUTSIDE_ARRIVED_LATER:
                introduced_on = self.day_between(SEED_DAY + datetime.timedelta(days=1), self.today)
                self.introduce(index, issuer=organisation, ward=ward, introduced_on=introduced_on)
            else:
                introduced_on = self.day_between(Day(2005, 1, 1), Day(2014, 12, 31))
                introduced_on = max(introduced_on, self.later(member.admitted_on, 10, 60))
                ended_on = self.day_between(self.later(introduced_on, 200, 200), SEED_DAY - datetime.timedelta(1))
                self.introduce(
                    index,
                    issuer=organisation,
                    ward=ward,
                    introduced_on=min(introduced_on, ended_on),
                    ended_on=ended_on,
                    end_reason=self.rng.choice(
                        [Referral.EndReason.MOVED_RESIDENCE, Referral.EndReason.CHANGED_WORKPLACE]
                    ),
                )
                self._truncate(self.referrals[-1])

    def _every_committee_introduces_this_year(self) -> None:
        """Each workplace committee but the quiet ones has introduced someone this year, so that the dashboard's
        "no tracking-book activity" names exactly the committees the story makes quiet."""
        year_start = Day(self.today.year, 1, 1)
        active = {r.issuing_organisation.pk for r in self.referrals if r.introduced_on >= year_start}
        for workplace in [*self.workplaces, *self.armed_workplaces]:
            issuer = workplace.issuer
            if issuer.pk in active or issuer.kind == Kind.WARD or not self.records_this(issuer, self.today):
                continue
            index = self.new_member(home=workplace.cell, born=(1988, 2000), admitted_latest=self.today)
            member = self.members[index]
            member.admitted_on = self.day_between(year_start - datetime.timedelta(days=300), year_start)
            member.official_on = None
            introduced_on = self.day_between(year_start, self.today - datetime.timedelta(days=10))
            self.introduce(index, issuer=issuer, ward=member._demo_ward, introduced_on=introduced_on)
            active.add(issuer.pk)

    def _named_example(self) -> None:
        """The member the README's search example finds."""
        first = self.members[ELIGIBLE_NOT_INTRODUCED_NEVER + ELIGIBLE_INTRODUCED_LATE]
        first.full_name, first.gender = "Nguyễn Văn Đức", "male"
        first.search_name = search_key(first.full_name)

    def number_letters(self) -> None:
        """Letter numbers run from 1 each year for each issuing organisation (of the day: wards that merged share
        their successor's numbers), in the order letters were signed."""
        sequence = defaultdict(int)
        issuer_on = {id(r): self.code_on(r.issuing_organisation, r.introduced_on) for r in self.referrals}
        for referral in sorted(self.referrals, key=lambda r: (issuer_on[id(r)], r.introduced_on)):
            key = (issuer_on[id(referral)], referral.introduced_on.year)
            sequence[key] += 1
            referral.letter_number = f"{sequence[key]}-GT/ĐU"

    # -- meetings, attendance, comments, ratings ----------------------------------------------------------
    def placements_by_cell(self) -> dict[int, list[Referral]]:
        """Placed referrals by the residential cell of the story they were placed in."""
        by_cell = defaultdict(list)
        for referral in self.referrals:
            if referral.placed_on is not None:
                by_cell[referral._demo_cell.pk].append(referral)
        return by_cell

    def cells_meeting_on(self, day: Day) -> list[tuple[Organisation, list[int]]]:
        """The residential cells in force on ``day``, each with the cells of the story it holds: after the reform a
        merged khu phố holds the two or three it was made of (whose members it took over)."""
        cells = [cell for ward in self.wards for cell in self.residential_cells[ward.pk]]
        if not (self.reform and day >= REFORM_DAY):
            return [(cell, [cell.pk]) for cell in cells]
        merged: dict[int, tuple[Organisation, list[int]]] = {}
        for cell in cells:
            successor = self.now(cell)
            merged.setdefault(successor.pk, (successor, []))[1].append(cell.pk)
        return list(merged.values())

    def exempt_from_activities(self, index: int, day: Day) -> bool:
        return any(start <= day and (end is None or end > day) for start, end in self.activity_exemptions[index])

    def roster(self, referrals: list[Referral], day: Day) -> list[Referral]:
        """Referred members placed in the cell on ``day`` and expected at its meetings."""
        return [
            r
            for r in referrals
            if r.placed_on <= day
            and (r.ended_on is None or r.ended_on > day)
            and not self.exempt_from_activities(r._demo_member_index, day)
        ]

    def build_meetings(self) -> tuple[list[Meeting], list[tuple[Meeting, list[Referral]]]]:
        story_cells = [cell for ward in self.wards for cell in self.residential_cells[ward.pk]]
        weak_cells = set(self.rng.sample([c.pk for c in story_cells], 4))  # cells that often skip a half-year
        by_story_cell = self.placements_by_cell()
        meetings, rosters = [], []

        def add(unit, held_on, kind, half_year, summaries):
            cell, story = unit
            placed = [referral for pk in story for referral in by_story_cell[pk]]
            meeting = Meeting(
                residential_cell=cell,
                held_on=held_on,
                kind=kind,
                year=half_year.year,
                half=half_year.half,
                summary=self.rng.choice(summaries),
            )
            meetings.append(meeting)
            rosters.append((meeting, self.roster(placed, held_on)))

        for half_year in half_years_between(HalfYear(2017, 1), HalfYear.of(self.today)):
            if half_year.half == 1:
                window = (Day(half_year.year, 5, 10), Day(half_year.year, 6, 28))
            else:
                window = (Day(half_year.year, 11, 5), Day(half_year.year, 12, 22))
            cells = self.cells_meeting_on(half_year.first_day)
            for cell in cells:
                if self.chance(0.3 if weak_cells.intersection(cell[1]) else 0.025):
                    continue
                held_on = self.day_between(*window)
                if held_on > self.today:
                    if window[0] > self.today or self.chance(0.35):
                        continue  # not held yet: the half-year is not over
                    held_on = self.day_between(window[0], self.today)
                add(cell, held_on, Meeting.Kind.PERIODIC, half_year, catalogue.MEETING_SUMMARIES)
            if half_year.half == 2:
                for cell in self.rng.sample(cells, 8):
                    held_on = self.day_between(Day(half_year.year, 9, 1), Day(half_year.year, 10, 20))
                    if held_on <= self.today:
                        add(cell, held_on, Meeting.Kind.AD_HOC, half_year, catalogue.AD_HOC_SUMMARIES)
        return meetings, rosters

    ATTENDANCE = ("meeting", "member", "status", "reason")

    def build_attendance(self, rosters) -> list[tuple]:
        """The rows of ``ATTENDANCE`` (``insert_values``)."""
        rows = []
        for meeting, roster in rosters:
            for referral in roster:
                index = referral._demo_member_index
                absent, excused = (0.45, 0.15) if index in self.chronic_absentees else (0.025, 0.06)
                roll = self.rng.random()
                if roll < absent:
                    status, reason = Attendance.Status.ABSENT, ""
                elif roll < absent + excused:
                    status, reason = Attendance.Status.EXCUSED, self.rng.choice(catalogue.EXCUSE_REASONS)
                else:
                    status, reason = Attendance.Status.PRESENT, ""
                rows.append((meeting.pk, referral.member_id, status, reason))
        return rows

    COMMENT = (
        "member",
        "year",
        "residential_cell",
        "keeps_contact",
        "citizen_example",
        "attends_meetings",
        "joins_movements",
        "verdict",
        "text",
        "written_on",
        "sent_on",
        "received_on",
    )

    def build_comments(self) -> tuple[list[tuple], dict[tuple[int, int], str]]:
        """The rows of ``COMMENT`` (``insert_values``), and each comment's verdict by (the member's index, year)."""
        comments, verdicts = [], {}
        by_story_cell = self.placements_by_cell()
        for year in range(2017, self.today.year + 1):
            deadline, placed_by = Day(year, 11, 30), Day(year, 10, 31)
            for cell, story in self.cells_meeting_on(deadline):
                referrals = [referral for pk in story for referral in by_story_cell[pk]]
                for referral in self.roster(referrals, deadline):
                    if referral.placed_on > placed_by:
                        continue
                    comment = self._comment(referral, year, deadline, cell)
                    if comment is not None:
                        comments.append(comment)
                        verdicts[referral._demo_member_index, year] = comment[7]
        return comments, verdicts

    def _comment(self, referral: Referral, year: int, deadline: Day, cell: Organisation) -> tuple | None:
        roll = self.rng.random()
        if roll < 0.03:
            return None  # never collected: the "missing" comments
        if roll < 0.10:  # late: sent after the deadline
            written_on = self.day_between(Day(year, 11, 25), Day(year, 12, 10))
            sent_on = max(written_on, self.day_between(Day(year, 12, 1), Day(year, 12, 20)))
        else:
            written_on = self.day_between(Day(year, 10, 20), Day(year, 11, 22))
            sent_on = self.later(written_on, 0, 7)
        written_on = max(written_on, referral.placed_on)
        sent_on = max(sent_on, written_on)
        received_on = None if self.chance(0.06) else self.later(sent_on, 2, 15)
        if written_on > self.today:
            return None
        if sent_on > self.today:
            sent_on = received_on = None
        elif received_on and received_on > self.today:
            received_on = None
        index = referral._demo_member_index
        if index in self.chronic_absentees:
            verdict = "limited" if self.chance(0.6) else "fair"
        else:
            verdict = self.rng.choices(["good", "fair", "limited"], weights=[72, 26, 2])[0]
        return (
            referral.member_id,
            year,
            cell.pk,
            verdict != "limited" or self.chance(0.3),  # keeps contact
            verdict != "limited" or self.chance(0.7),  # a citizen's example
            index not in self.chronic_absentees,  # attends meetings
            verdict == "good" or self.chance(0.6),  # joins movements
            verdict,
            catalogue.COMMENT_TEXTS[verdict],
            written_on,
            sent_on,
            received_on,
        )

    RATING = ("member", "year", "level", "decided_on")

    def build_ratings(self, verdicts: dict[tuple[int, int], str]) -> list[tuple]:
        """The rows of ``RATING`` (``insert_values``), drawn from the residence comment's verdict of the year."""
        weights = {
            "good": [20, 72, 8, 0],
            "fair": [2, 60, 38, 0],
            "limited": [2, 13, 60, 25],  # a few rated well despite a poor residence comment: the page warns
            None: [12, 70, 16, 2],
        }
        levels = [level for level, _label in YearEndRating.Level.choices]
        ratings = []
        for year in range(2017, self.today.year):
            year_end = Day(year, 12, 31)
            for index, member in enumerate(self.members):
                if member.home_organisation.kind in (Kind.OUTSIDE,) or member.admitted_on > Day(year, 9, 30):
                    continue
                if not member.is_working_on(year_end) or not member.is_member_on(year_end):
                    continue
                level = self.rng.choices(levels, weights=weights[verdicts.get((index, year))])[0]
                ratings.append((member.pk, year, level, Day(year, 12, 15 + index % 15)))
        return ratings

    # -- users ---------------------------------------------------------------------------------------------
    def build_users(self) -> None:
        users = get_user_model().objects
        city_staff, _created = Group.objects.get_or_create(name="Văn phòng Thành ủy")
        city_staff.permissions.set(Permission.objects.filter(content_type__app_label__in=["branches", "members"]))
        by_code = {o.code: o for o in Organisation.objects.filter(code__in=[PROVINCE, "P1", "P2", "P1-KP1", "GDDT"])}
        # The posts of 2016; the reform carries them to the successors (phuong1 and phuong2 secretaries of the new
        # wards, khupho1 of the merged khu phố, coquan1 at the education committee under the province).
        posts = [
            ("thanhuy", "Trần", "Thị Hoài", PROVINCE, Officer.Role.STAFF, True),
            ("phuong1", "Lê", "Văn Hùng", "P1", Officer.Role.SECRETARY, False),
            ("phuong2", "Nguyễn", "Thị Mai", "P2", Officer.Role.SECRETARY, False),
            ("khupho1", "Hồ", "Quang Vinh", "P1-KP1", Officer.Role.SECRETARY, False),
            ("coquan1", "Phan", "Thanh Tâm", "GDDT", Officer.Role.STAFF, False),
        ]
        # One password, hashed once: each hash is deliberately slow (about a second for the five on the CI machine).
        password = make_password(DEMO_PASSWORD)
        for username, last_name, first_name, code, role, is_staff in posts:
            user = users.create(
                username=username,
                password=password,
                first_name=first_name,
                last_name=last_name,
                # A reserved domain (RFC 6761): the reminders' e-mails of a demo never reach a real mailbox.
                email=f"{username}@dongha76.example",
                is_staff=is_staff,
            )
            if is_staff:
                user.groups.add(city_staff)
            Officer.objects.create(user=user, organisation=by_code[code], role=role, started_on=Day(2016, 1, 1))

    # -- all of it -----------------------------------------------------------------------------------------
    def build_rows(self) -> dict[str, int]:
        """Every row of the story; how many meetings, attendances, comments and ratings."""
        self.build_tree()
        self.build_members()
        self.number_letters()
        later = self.insert_before_reform()
        self.build_users()
        if self.reform:
            self.apply_reform()
        self.insert_after_reform(*later)
        meetings, rosters = self.build_meetings()
        for meeting in meetings:
            meeting.residential_cell = self.now_on(meeting.residential_cell, meeting.held_on)
        Meeting.objects.bulk_create(meetings, batch_size=2000)
        attendances = self.build_attendance(rosters)
        insert_values(Attendance, self.ATTENDANCE, attendances)
        comments, verdicts = self.build_comments()
        insert_values(ResidenceComment, self.COMMENT, comments)
        ratings = self.build_ratings(verdicts)
        insert_values(YearEndRating, self.RATING, ratings)
        return {
            "meetings": len(meetings),
            "attendances": len(attendances),
            "comments": len(comments),
            "ratings": len(ratings),
        }

    @transaction.atomic
    def build(self) -> SeedResult:
        with stale.suspended_for_a_bulk_load(connection):
            counts = self.build_rows()
        figures = seed_figures(self.root, SEED_DAY)
        if figures != SEED_FIGURES:
            raise DemoDataError(f"The demo data does not give the seed article's figures: {figures}")
        return SeedResult(
            organisations=Organisation.objects.count(),
            members=len(self.members),
            referrals=len(self.referrals),
            **counts,
            figures=figures,
        )

    def now_on(self, organisation: Organisation, day: Day) -> Organisation:
        """The organisation of ``day`` standing for ``organisation`` of the story."""
        return self.now(organisation) if self.reform and day >= REFORM_DAY else organisation

    def insert_before_reform(self) -> tuple[list, list, list]:
        """Insert what the story holds before the reform: members admitted before it with their homes until then,
        referrals introduced before it with the steps recorded before it (the later steps are kept aside on each
        referral). Returns what is left for after the reform: members, home moves, referrals."""
        cut = REFORM_DAY if self.reform else Day.max
        members, later_members, moves = [], [], []
        periods = []
        for member in self.members:
            if member.admitted_on >= cut:
                later_members.append(member)
                continue
            members.append(member)
            story = self.home_periods(member)
            before = [(home, start, end if end is None or end < cut else None) for home, start, end in story]
            before = [period for period in before if period[1] < cut]
            member.home_organisation = before[-1][0]
            periods.extend(MemberHome(member=member, organisation=h, started_on=s, ended_on=e) for h, s, e in before)
            after = [period for period in story if period[1] >= cut]
            if after:
                moves.append((member, after))
        Member.objects.bulk_create(members, batch_size=2000)
        insert_rows(MemberHome, sorted(periods, key=lambda p: p.started_on))
        referrals, later_referrals = [], []
        for referral in self.referrals:
            if referral.introduced_on >= cut:
                later_referrals.append(referral)
                continue
            if referral.placed_on and referral.placed_on >= cut:
                raise DemoDataError("A referral of the story is placed after the reform in a former ward's cell.")
            referral._demo_later = {}
            for step in ("received_on", "reported_on", "ended_on"):
                day = getattr(referral, step)
                if day is not None and day >= cut:
                    referral._demo_later[step] = day
                    setattr(referral, step, None)
            if "ended_on" in referral._demo_later:
                referral._demo_later["end_reason"], referral.end_reason = referral.end_reason, ""
            referrals.append(referral)
        Referral.objects.bulk_create(referrals, batch_size=2000)
        insert_rows(
            Placement,
            [
                Placement(referral=r, residential_cell=r.residential_cell, started_on=r.placed_on)
                for r in referrals
                if r.placed_on
            ],
        )
        return later_members, moves, [r for r in referrals if r._demo_later], later_referrals

    def insert_after_reform(self, members: list, moves: list, stepped: list, referrals: list) -> None:
        """Insert the rest of the story in today's organisations: the steps after the reform on earlier referrals,
        the members admitted since, the home moves since (each closing the home of the day before), the referrals
        introduced since, and the exemptions."""
        for referral in stepped:
            for step, value in referral._demo_later.items():
                setattr(referral, step, value)
        Referral.objects.bulk_update(stepped, ["received_on", "reported_on", "ended_on", "end_reason"], batch_size=2000)
        closing = defaultdict(list)
        for member, after in moves:
            closing[after[0][1]].append(member.pk)
        for day, pks in sorted(closing.items()):
            MemberHome.objects.filter(member_id__in=pks, ended_on__isnull=True).update(ended_on=day)
        periods = []
        for member, after in moves:
            member.home_organisation = self.now(after[-1][0])
            periods.extend((member, h, s, e) for h, s, e in after)
        Member.objects.bulk_update([member for member, _after in moves], ["home_organisation"], batch_size=2000)
        for member in members:
            story = self.home_periods(member)
            member.home_organisation = self.now(story[-1][0])
            periods.extend((member, h, s, e) for h, s, e in story)
        Member.objects.bulk_create(members, batch_size=2000)
        insert_rows(
            MemberHome,
            sorted(
                (
                    MemberHome(member=member, organisation=self.now(home), started_on=start, ended_on=end)
                    for member, home, start, end in periods
                ),
                key=lambda period: period.started_on,
            ),
        )
        for referral in referrals:
            referral.issuing_organisation = self.now(referral.issuing_organisation)
            referral.receiving_ward = self.now(referral.receiving_ward)
            if referral.residential_cell is not None:
                referral.residential_cell = self.now(referral.residential_cell)
        Referral.objects.bulk_create(referrals, batch_size=2000)
        insert_rows(
            Placement,
            [
                Placement(referral=r, residential_cell=r.residential_cell, started_on=r.placed_on)
                for r in referrals
                if r.placed_on
            ],
        )
        Exemption.objects.bulk_create(self.exemptions, batch_size=2000)


def insert_rows(model: type[Model], objs: list[Model]) -> None:
    """Insert ``objs`` as ``bulk_create`` would, for the periods of the histories, whose rows nothing reads back
    (their ids stay unset), in their order (the history triggers check each row). A related object set before it was
    saved is read as ``bulk_create`` reads it; one never saved is refused."""
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]

    def value(obj: Model, field):
        found = getattr(obj, field.attname)
        if found is None and field.is_relation and field.is_cached(obj):
            related = field.get_cached_value(obj)  # set before it was saved, as bulk_create reads it
            if related is not None:
                if related.pk is None:
                    raise ValueError(f"insert_rows() of {model.__name__}: the related {field.name} is not saved.")
                found = related.pk
        return found

    insert_values(
        model, [field.name for field in fields], [tuple(value(obj, field) for field in fields) for obj in objs]
    )


def insert_values(model: type[Model], names: list[str], rows: list[tuple]) -> None:
    """Insert ``rows``, each the values of the fields ``names`` (a related object by its id), as ``bulk_create`` of
    the model instances would store them; a field not named takes its default.

    The demo's largest tables (200,000 attendances, comments and ratings) are written as tuples: made as model
    instances they cost a fifth of the seed, and ``bulk_create`` prepares every value through the query compiler (on
    SQLite at most 999 values a statement). Here a value the driver takes as it is (an int, a str, a bool, a day,
    None) is passed as it is, as its field would give it back, and any other goes through its field. SQLite runs one
    prepared single-row INSERT over all rows (``executemany``); psycopg2 sends them to one COPY (a fifth of the time
    of ``execute_values``' INSERTs of a thousand rows each; its ``executemany`` is one round trip a row). Other
    drivers: ``bulk_create``."""
    named = [model._meta.get_field(name) for name in names]
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            raise TypeError(f"insert_values() does not fill {field} (auto_now): use bulk_create().")
    position = {field: index for index, field in enumerate(named)}
    defaults = {field: field.get_default() for field in fields if field not in position}
    postgresql = connection.vendor == "postgresql" and connection.Database.__name__ == "psycopg2"
    if connection.vendor != "sqlite" and not postgresql:
        objs = [model(**{f.attname: v for f, v in zip(named, row, strict=True)}) for row in rows]
        model.objects.bulk_create(objs, batch_size=5000)
        return
    plain = (int, str, bool, type(None))
    # (the value's index in a row or None, its default, its field, the types the driver takes as the field stores them)
    columns = [
        (
            position.get(field),
            defaults.get(field),
            field,
            (*plain, datetime.date) if field.get_internal_type() == "DateField" else plain,
        )
        for field in fields
    ]

    def stored(row: tuple) -> tuple:
        values = []
        for index, default, field, passed in columns:
            found = default if index is None else row[index]
            values.append(found if type(found) in passed else field.get_db_prep_save(found, connection))
        return tuple(values)

    quote = connection.ops.quote_name
    table, names_sql = quote(model._meta.db_table), ", ".join(quote(field.column) for field in fields)
    with connection.cursor() as cursor:
        if postgresql:
            cursor.cursor.copy_expert(f"COPY {table} ({names_sql}) FROM STDIN", _copy_text(stored(row) for row in rows))
        else:
            cursor.executemany(
                f"INSERT INTO {table} ({names_sql}) VALUES ({', '.join(['%s'] * len(fields))})",  # noqa: S608 - names from the model
                [stored(row) for row in rows],
            )


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(rows) -> io.StringIO:
    """``rows`` in the text format of PostgreSQL's COPY: tab-separated, None as ``\\N``, a text's backslashes, tabs
    and line breaks escaped; an int, a bool and a day as their ``str``, which PostgreSQL reads back as they were."""
    buffer = io.StringIO()
    for row in rows:
        buffer.write(
            "\t".join(
                "\\N" if value is None else value.translate(_COPY_ESCAPES) if type(value) is str else str(value)
                for value in row
            )
        )
        buffer.write("\n")
    buffer.seek(0)
    return buffer


def seed_demo(*, seed: int = 76, today: Day) -> SeedResult:
    # The builder keeps what it draws to its end (members, referrals, their periods): 9 full collections walked it
    # all again, 1.45 of the demo's 13-15 s on SQLite; none with the threshold raised (peak memory +10 MB).
    with collected_rarely():
        return DemoBuilder(seed=seed, today=today).build()
