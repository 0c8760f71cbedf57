"""Planning a restructure: what a merge, split, rename or move on an effective date would do, read from the database.

Nothing here writes. A ``Plan`` says which organisations end (on the effective date, with their successor) and which
start (from it), where the members' homes, the open placements and the officers' posts go, what else is touched
(meetings, comment rounds), and why the restructure is refused (``problems``, in the user's language). The web
preview and the command show it; ``restructures.services.apply_plan`` plans again under row locks and does it.

Defaults (documented choices, each can be overridden):

- An organisation that ends hands over to one successor (its ``successor``), except the organisation a split
  divides: its successors are the parts, named in the ``Restructure`` record only; so it has no entry in
  ``successor_of``, and what was in it goes where ``assignment`` says.
- The subordinate organisations of an organisation that ends cannot change parent (the tree of a past day stays as
  it was), so each one that still exists ends too and a successor starts under its parent's successor: ``children``
  maps the code of such a subordinate organisation (at any depth) to the code of its successor, either an existing
  organisation standing there (several may merge into one) or a new code, created as a copy (same name, kind and
  sector). Without an entry the copy's code is ``"<code of the top successor>-<code of the subordinate>"``: for a
  merge the merged organisation, for a split the part it is assigned to, for a move the moved organisation's
  successor.
- A move's successor is a copy of the organisation under the new parent, code ``"<code>-<yyyy>"`` (the year of the
  effective date) unless ``new_code`` is given.
- A merge into a new organisation puts it under ``parent``, by default the parent the merged organisations share;
  its sector is theirs when they share one, else the first one's.
- Members who left the party before the effective date keep their last home; everyone else whose home is in an
  organisation that ends moves to its successor from that day. Only open referrals are re-placed.
- An officer's post at an organisation that ends ends on the effective date; ``apply_plan(officers="follow")``
  starts a post of the same role at its successor (none when the user already holds one there; a split's divided
  organisation has no single successor, so its posts end: ``to_code`` "").
"""

import csv
import dataclasses
import datetime
import io
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from branches.models import Officer, Organisation, OrganisationName, Restructure
from dongha76.periods import PeriodError, check_day, parse_iso_day
from dongha76.services import day_text
from dongha76.text import normalise_line, validate_name
from members.models import CommentRound, Meeting, MemberHome, Placement, Referral, ResidenceComment

Kind = Organisation.Kind
CODE_FIELD = Organisation._meta.get_field("code")
NAME_MAX_LENGTH = Organisation._meta.get_field("name").max_length
# How many unassigned members a split names one by one before it counts the rest.
LISTED_UNASSIGNED = 20


@dataclasses.dataclass(frozen=True)
class NewOrganisation:
    """A successor the restructure will create (from the effective date)."""

    code: str
    name: str
    kind: str
    parent_code: str
    sector: str


@dataclasses.dataclass(frozen=True)
class Flow:
    """``count`` things (members' homes, placements, unplaced referrals) moving from one organisation to another."""

    from_code: str
    to_code: str
    count: int


@dataclasses.dataclass
class Plan:
    kind: str  # branches.models.Restructure.Kind value: merge / split / rename / move
    effective_on: datetime.date | None
    ending: list[Organisation]  # valid_to = effective_on, successor set (but a split's divided organisation)
    starting: list[NewOrganisation]  # created with valid_from = effective_on, parents first
    renamed: list[tuple[Organisation, str]]
    successor_of: dict[str, str]  # predecessor code -> successor code (every ending organisation but a split one)
    homes: list[Flow]  # members whose home moves (homes in an ending organisation)
    placements: list[Flow]  # open referrals placed in an ending residential cell
    unplaced: list[Flow]  # open referrals not yet placed, addressed to an ending ward
    officers: list[tuple[str, str, str]]  # (username, from_code, to_code) posts that follow (or end: to_code "")
    meetings_affected: int  # meetings recorded in ending cells on or after effective_on (must be 0)
    comment_years_affected: list[int]  # comment rounds due on or after effective_on with comments in ending cells
    problems: list[str]  # refusals, in the user's language; non-empty => apply refuses
    params: dict  # the inputs, JSON-serialisable, so a web preview can re-plan on confirm
    # Added to the agreed API:
    errors: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # the problems by input field
    # The Restructure records apply writes, the main one first: (kind, predecessor codes, successor codes).
    records: list[tuple[str, list[str], list[str]]] = dataclasses.field(default_factory=list)
    # A split: the part each member goes to (card number -> part code), for the homes and placements of the divided
    # organisation itself.
    assigned: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


# -- inputs ------------------------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _iso(day: datetime.date | None) -> str | None:
    return day.isoformat() if day else None


def _read_day(value: Any, problems: list[tuple[str, str]]) -> datetime.date | None:
    """The effective date (a date or "YYYY-MM-DD"), within the product's bounds and not in the future."""
    try:
        if isinstance(value, datetime.datetime):
            day = check_day(value.date())
        elif isinstance(value, datetime.date):
            day = check_day(value)
        elif isinstance(value, str):
            day = parse_iso_day(value)
        else:
            day = None
    except PeriodError as error:
        problems.append(("effective_on", str(error.message)))
        return None
    today = timezone.localdate()
    if day is not None and day > today:
        problems.append(
            (
                "effective_on",
                _("A restructure is recorded once it has taken effect: %(day)s is in the future (today is %(today)s).")
                % {"day": day_text(day), "today": day_text(today)},
            )
        )
    return day


def _codes(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list | tuple):
        return []
    return list(dict.fromkeys(code for code in map(_text, value) if code))


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {_text(key): _text(part) for key, part in value.items() if _text(key)}


class _Builder:
    """Collects what a restructure would do and why it is refused, organisation by organisation."""

    def __init__(self, kind: str, effective_on: Any, params: dict) -> None:
        early: list[tuple[str, str]] = []
        self.day = _read_day(effective_on, early)
        params["effective_on"] = _iso(self.day) if self.day else None
        self.plan = Plan(
            kind=Restructure.Kind(kind).value,
            effective_on=self.day,
            ending=[],
            starting=[],
            renamed=[],
            successor_of={},
            homes=[],
            placements=[],
            unplaced=[],
            officers=[],
            meetings_affected=0,
            comment_years_affected=[],
            problems=[],
            params=params,
        )
        self.new: dict[str, NewOrganisation] = {}
        self.new_field: dict[str, str] = {}
        self.ending: dict[str, Organisation] = {}
        self.top: list[Organisation] = []  # the organisations the restructure is about (not their subordinates)
        self.queue: list[tuple[Organisation, str, str]] = []  # (ended organisation, its successor's code, prefix)
        self.mapping: dict[str, str] = {}
        self.mapping_field = "children"
        self.used_mapping: set[str] = set()
        self.divided_members: dict[str, list[tuple[str, str]]] = {}  # a split: code -> (card, name) of its members
        for field, message in early:
            self.problem(field, message)
        if self.day is None and not early:
            self.problem("effective_on", _("Give the day the restructure takes effect."))

    # -- problems

    def problem(self, field: str, message: str) -> None:
        message = str(message)
        self.plan.problems.append(message)
        self.plan.errors.setdefault(field, []).append(message)

    # -- organisations

    def lookup(self, codes: Iterable[Any], field: str) -> list[Organisation]:
        wanted = _codes(codes)
        found = {organisation.code: organisation for organisation in Organisation.objects.filter(code__in=wanted)}
        unknown = [code for code in wanted if code not in found]
        if unknown:
            self.problem(
                field,
                ngettext(
                    "No organisation has the code %(codes)s.",
                    "No organisations have the codes %(codes)s.",
                    len(unknown),
                )
                % {"codes": ", ".join(unknown)},
            )
        return [found[code] for code in wanted if code in found]

    def lookup_one(self, code: Any, field: str) -> Organisation | None:
        found = self.lookup([code], field)
        return found[0] if found else None

    def root_key(self, organisation: Organisation) -> str:
        # Outside organisations have a tree of their own each: they may merge with one another.
        return "outside" if organisation.kind == Kind.OUTSIDE else organisation.path.split("/")[0]

    def check_same_kind_and_root(self, organisations: list[Organisation], field: str) -> bool:
        kinds = {organisation.kind for organisation in organisations}
        if len(kinds) > 1:
            self.problem(
                field,
                _("The organisations of a restructure are of one kind: %(list)s are not.")
                % {"list": ", ".join(f"{o.code} ({o.get_kind_display()})" for o in organisations)},
            )
            return False
        if len({self.root_key(organisation) for organisation in organisations}) > 1:
            self.problem(
                field,
                _(
                    "The organisations belong to different organisation trees (%(codes)s): a restructure stays "
                    "within one."
                )
                % {"codes": ", ".join(o.code for o in organisations)},
            )
            return False
        return True

    def check_exists_before(self, organisation: Organisation, field: str) -> bool:
        """``organisation`` exists the day before the effective date and has no end of its own."""
        if organisation.valid_from >= self.day:
            self.problem(
                field,
                _("%(name)s (%(code)s) exists only from %(start)s: it cannot end or change on %(day)s.")
                % {
                    "name": organisation.name,
                    "code": organisation.code,
                    "start": day_text(organisation.valid_from),
                    "day": day_text(self.day),
                },
            )
            return False
        if organisation.valid_to is not None:
            if organisation.valid_to <= self.day:
                message = _("%(name)s (%(code)s) no longer exists on %(day)s (it ended on %(end)s).")
            else:
                message = _(
                    "%(name)s (%(code)s) already ends on %(end)s, after %(day)s: the restructure must take effect "
                    "after that day."
                )
            self.problem(
                field,
                message
                % {
                    "name": organisation.name,
                    "code": organisation.code,
                    "day": day_text(self.day),
                    "end": day_text(organisation.valid_to),
                },
            )
            return False
        return True

    def end(self, organisation: Organisation, successor: str | None, prefix: str, field: str) -> None:
        if organisation.code in self.ending:
            self.problem(field, _("%(code)s is named twice.") % {"code": organisation.code})
            return
        if not self.check_exists_before(organisation, field):
            return
        self.ending[organisation.code] = organisation
        self.plan.ending.append(organisation)
        if successor is not None:
            self.plan.successor_of[organisation.code] = successor
            self.queue.append((organisation, successor, prefix))

    def parent_kind(self, code: str) -> str | None:
        if code in self.new:
            return self.new[code].kind
        return Organisation.objects.filter(code=code).values_list("kind", flat=True).first()

    def start(self, organisation: NewOrganisation, field: str) -> bool:
        """A new organisation, checked: its code (free, well formed), its name, its place."""
        ok = True
        try:
            CODE_FIELD.run_validators(organisation.code)
            if not organisation.code:
                raise ValidationError(_("Give a code for %(name)s.") % {"name": organisation.name or "…"})
        except ValidationError as error:
            for message in error.messages:
                self.problem(field, f"{organisation.code}: {message}" if organisation.code else message)
            ok = False
        if ok and (organisation.code in self.new or Organisation.objects.filter(code=organisation.code).exists()):
            self.problem(
                field,
                _("The code %(code)s is already used by another organisation: choose another one.")
                % {"code": organisation.code},
            )
            ok = False
        try:
            validate_name(organisation.name)
            if len(organisation.name) > NAME_MAX_LENGTH:
                raise ValidationError(
                    _("A name has at most %(n)s characters.") % {"n": NAME_MAX_LENGTH}, code="max_length"
                )
        except ValidationError as error:
            for message in error.messages:
                self.problem(field, f"{organisation.code}: {message}")
            ok = False
        parent_kind = self.parent_kind(organisation.parent_code)
        allowed = Organisation.ALLOWED_PARENT_KINDS.get(organisation.kind, ())
        if parent_kind is not None and parent_kind not in allowed:
            self.problem(
                field,
                _("A %(kind)s cannot stand under a %(parent_kind)s (%(parent)s).")
                % {
                    "kind": Kind(organisation.kind).label,
                    "parent_kind": Kind(parent_kind).label,
                    "parent": organisation.parent_code,
                },
            )
            ok = False
        if ok:
            self.new[organisation.code] = organisation
            self.new_field[organisation.code] = field
            self.plan.starting.append(organisation)
        return ok

    def live_children(self, organisation: Organisation) -> list[Organisation]:
        """The subordinate organisations still in force on the day before or later (those ended before need no
        successor)."""
        return list(
            Organisation.objects.filter(parent=organisation)
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=self.day))
            .order_by("path")
        )

    def take_mapping(self, code: str) -> str | None:
        target = self.mapping.get(code)
        if target is not None:
            self.used_mapping.add(code)
        return target or None

    def succeed_child(self, child: Organisation, target: str, parent_code: str, prefix: str, field: str) -> None:
        """``child`` ends; ``target`` (an organisation under ``parent_code``, existing, planned or to copy) takes
        over."""
        if target in self.new:
            planned = self.new[target]
            if planned.kind != child.kind:
                self.problem(field, self._other_kind(child, target, Kind(planned.kind).label))
                return
            if planned.parent_code != parent_code:
                self.problem(field, self._not_under(target, parent_code))
                return
        else:
            existing = Organisation.objects.filter(code=target).select_related("parent").first()
            if existing is not None:
                if existing.kind != child.kind:
                    self.problem(field, self._other_kind(child, target, existing.get_kind_display()))
                    return
                if existing.parent is None or existing.parent.code != parent_code:
                    self.problem(field, self._not_under(target, parent_code))
                    return
                if target in self.ending or not existing.is_valid_on(self.day):
                    self.problem(
                        field,
                        _("%(code)s does not continue on %(day)s: it cannot take over from %(child)s.")
                        % {"code": target, "day": day_text(self.day), "child": child.code},
                    )
                    return
            else:
                copy = NewOrganisation(
                    code=target, name=child.name, kind=child.kind, parent_code=parent_code, sector=child.sector
                )
                if not self.start(copy, field):
                    return
        self.end(child, target, prefix, field)

    def _other_kind(self, child: Organisation, target: str, kind_label: str) -> str:
        return _("%(target)s is a %(target_kind)s: it cannot take over from %(child)s, a %(kind)s.") % {
            "target": target,
            "target_kind": kind_label,
            "child": child.code,
            "kind": child.get_kind_display(),
        }

    def _not_under(self, target: str, parent_code: str) -> str:
        return _("%(target)s does not stand under %(parent)s, the successor of its parent.") % {
            "target": target,
            "parent": parent_code,
        }

    def succeed_descendants(self) -> None:
        """Every subordinate organisation of an organisation that ends ends too, and a successor takes over under
        its parent's successor (mapped in ``children``, else a copy named after the prefix)."""
        while self.queue:
            organisation, successor, prefix = self.queue.pop(0)
            for child in self.live_children(organisation):
                target = self.take_mapping(child.code) or f"{prefix}-{child.code}"
                self.succeed_child(child, target, successor, prefix, self.mapping_field)

    # -- the rest of the plan

    def finish(self, *, check_events: bool = True) -> Plan:
        unused = [code for code in self.mapping if code not in self.used_mapping]
        if unused:
            self.problem(
                self.mapping_field,
                _("These codes are not subordinate organisations that end here: %(codes)s.")
                % {"codes": ", ".join(unused)},
            )
        for organisation in self.plan.starting:
            if organisation.parent_code in self.ending:
                self.problem(
                    self.new_field.get(organisation.code, "parent"),
                    _("%(parent)s ends on %(day)s: %(code)s cannot start under it.")
                    % {"parent": organisation.parent_code, "day": day_text(self.day), "code": organisation.code},
                )
        if self.day is not None and self.ending:
            if check_events:
                self.check_events()
            self.flows()
            self.records()
        return self.plan

    def check_events(self) -> None:
        """Refuse a day on or before the last recorded event of an organisation that ends: the past before the
        effective date stays as it was, and nothing after it may still be in the ended organisation."""
        day = self.day
        pks = [organisation.pk for organisation in self.ending.values()]
        latest: dict[int, tuple[datetime.date, str]] = {}

        def seen(pk: int | None, *days: datetime.date | None, what: str) -> None:
            days = [d for d in days if d is not None and d >= day]
            if pk is None or not days:
                return
            when = max(days)
            if pk not in latest or when > latest[pk][0]:
                latest[pk] = (when, what)

        homes = MemberHome.objects.filter(organisation__in=pks).filter(Q(started_on__gte=day) | Q(ended_on__gt=day))
        for pk, started, ended in (
            homes.values("organisation")
            .annotate(s=Max("started_on"), e=Max("ended_on"))
            .values_list("organisation", "s", "e")
        ):
            seen(pk, started, ended if ended and ended > day else None, what=_("a member's home changes"))
        placed = Placement.objects.filter(residential_cell__in=pks).filter(Q(started_on__gte=day) | Q(ended_on__gt=day))
        for pk, started, ended in (
            placed.values("residential_cell")
            .annotate(s=Max("started_on"), e=Max("ended_on"))
            .values_list("residential_cell", "s", "e")
        ):
            seen(pk, started, ended if ended and ended > day else None, what=_("a placement changes"))
        steps = ["introduced_on", "received_on", "placed_on", "reported_on", "ended_on"]
        after = Q()
        for step in steps:
            after |= Q(**{f"{step}__gte": day})
        maxima = {step: Max(step) for step in steps}
        for through in ("receiving_ward", "placements__residential_cell"):
            rows = Referral.objects.filter(**{f"{through}__in": pks}).filter(after).values(through).annotate(**maxima)
            for row in rows:
                seen(row[through], *(row[step] for step in steps), what=_("a referral step is recorded"))
        issued = Referral.objects.filter(issuing_organisation__in=pks, introduced_on__gte=day)
        for pk, when in (
            issued.values("issuing_organisation")
            .annotate(m=Max("introduced_on"))
            .values_list("issuing_organisation", "m")
        ):
            seen(pk, when, what=_("a referral is introduced"))
        meetings = Meeting.objects.filter(residential_cell__in=pks, held_on__gte=day)
        for pk, when in (
            meetings.values("residential_cell").annotate(m=Max("held_on")).values_list("residential_cell", "m")
        ):
            seen(pk, when, what=_("a meeting is held"))
        comments = ResidenceComment.objects.filter(residential_cell__in=pks).filter(
            Q(written_on__gte=day) | Q(sent_on__gte=day)
        )
        for pk, written, sent in (
            comments.values("residential_cell")
            .annotate(w=Max("written_on"), s=Max("sent_on"))
            .values_list("residential_cell", "w", "s")
        ):
            seen(pk, written, sent, what=_("a residence comment is written or sent"))
        posts = Officer.objects.filter(organisation__in=pks, started_on__gte=day)
        for pk, when in posts.values("organisation").annotate(m=Max("started_on")).values_list("organisation", "m"):
            seen(pk, when, what=_("an officer's post starts"))
        renames = OrganisationName.objects.filter(organisation__in=pks, valid_to__gte=day)
        for pk, when in renames.values("organisation").annotate(m=Max("valid_to")).values_list("organisation", "m"):
            seen(pk, when, what=_("it is renamed"))
        for side in ("predecessors", "successors"):
            records = Restructure.objects.filter(**{f"{side}__in": pks}, effective_on__gte=day)
            for pk, when in records.values(side).annotate(m=Max("effective_on")).values_list(side, "m"):
                seen(pk, when, what=_("a restructure takes effect"))
        for organisation in self.ending.values():
            if organisation.pk in latest:
                when, what = latest[organisation.pk]
                self.problem(
                    "effective_on",
                    _(
                        "%(name)s (%(code)s): %(what)s on %(event)s. A restructure takes effect after the last "
                        "recorded event of the organisations it ends."
                    )
                    % {"name": organisation.name, "code": organisation.code, "what": what, "event": day_text(when)},
                )

    def flows(self) -> None:
        day = self.day
        plan = self.plan
        pks = [organisation.pk for organisation in self.ending.values()]
        code_of = {organisation.pk: organisation.code for organisation in self.ending.values()}
        divided = self.divided_members

        def count(rows, into: list[Flow]) -> None:
            counter: Counter = Counter()
            for organisation_pk, card, name in rows:
                code = code_of[organisation_pk]
                if code in plan.successor_of:
                    counter[(code, plan.successor_of[code])] += 1
                else:
                    divided.setdefault(code, []).append((card, name))
                    part = plan.assigned.get(card)
                    if part:
                        counter[(code, part)] += 1
            into.extend(Flow(from_code, to_code, n) for (from_code, to_code), n in sorted(counter.items()))

        homes = (
            MemberHome.objects.filter(ended_on__isnull=True, organisation__in=pks)
            .filter(Q(member__left_on__isnull=True) | Q(member__left_on__gt=day))
            .values_list("organisation", "member__card_number", "member__full_name")
            .order_by("member__card_number")
        )
        count(homes, plan.homes)
        placements = (
            Placement.objects.filter(ended_on__isnull=True, residential_cell__in=pks, referral__ended_on__isnull=True)
            .values_list("residential_cell", "referral__member__card_number", "referral__member__full_name")
            .order_by("referral__member__card_number")
        )
        count(placements, plan.placements)
        unplaced = Counter(
            Referral.objects.filter(ended_on__isnull=True, placed_on__isnull=True, receiving_ward__in=pks).values_list(
                "receiving_ward", flat=True
            )
        )
        for pk, n in sorted(unplaced.items(), key=lambda item: code_of[item[0]]):
            code = code_of[pk]
            if code in plan.successor_of:
                plan.unplaced.append(Flow(code, plan.successor_of[code], n))
            else:
                self.problem(
                    "assignment",
                    ngettext(
                        "%(n)s open referral addressed to %(code)s is not placed yet: a divided ward has no single "
                        "successor to follow. Place it (or end it) before the split.",
                        "%(n)s open referrals addressed to %(code)s are not placed yet: a divided ward has no single "
                        "successor to follow. Place them (or end them) before the split.",
                        n,
                    )
                    % {"n": n, "code": code},
                )
        posts = (
            Officer.objects.filter(organisation__in=pks)
            .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=day))
            .values_list("user__username", "organisation")
            .order_by("organisation__path", "user__username")
        )
        plan.officers = [(username, code_of[pk], plan.successor_of.get(code_of[pk], "")) for username, pk in posts]
        plan.meetings_affected = Meeting.objects.filter(residential_cell__in=pks, held_on__gte=day).count()
        years = sorted(
            set(ResidenceComment.objects.filter(residential_cell__in=pks).values_list("year", flat=True).distinct())
        )
        if years:
            first = next(iter(self.ending.values()))
            root_pk = int(first.path.split("/")[0]) if first.path else None
            recorded = dict(
                CommentRound.objects.filter(organisation_id=root_pk, year__in=years).values_list("year", "deadline")
            )
            plan.comment_years_affected = [
                year for year in years if recorded.get(year, CommentRound.default_deadline(year)) >= day
            ]

    def records(self) -> None:
        """The child restructures, after the main one: each successor of subordinate organisations with the ones it
        takes over from (a move when one is copied, a merger when several join or one joins an existing one)."""
        top = {organisation.code for organisation in self.top}
        groups: dict[str, list[str]] = defaultdict(list)
        for code, successor in self.plan.successor_of.items():
            if code not in top:
                groups[successor].append(code)
        for successor, predecessors in groups.items():
            if successor in self.new and len(predecessors) == 1:
                self.plan.records.append((Restructure.Kind.MOVE.value, predecessors, [successor]))
            elif successor in self.new:
                self.plan.records.append((Restructure.Kind.MERGE.value, predecessors, [successor]))
            else:
                self.plan.records.append((Restructure.Kind.MERGE.value, [*predecessors, successor], [successor]))


# -- merge -------------------------------------------------------------------------------------------------------------


def plan_merge(
    *,
    codes: list[str],
    effective_on: datetime.date | str,
    into: str | None = None,
    new_code: str | None = None,
    new_name: str | None = None,
    parent: str | None = None,
    children: dict[str, str] | None = None,
) -> Plan:
    """Several organisations of one kind (in one tree) merge into one of them (``into``, which keeps its row) or into
    a new one (``new_code``, ``new_name``, under ``parent``, default: their common parent). Their subordinate
    organisations follow as the module says (``children``)."""
    codes = _codes(codes)
    into, new_code, parent = _text(into), _text(new_code), _text(parent)
    new_name = normalise_line(new_name) if isinstance(new_name, str) else ""
    mapping = _str_map(children)
    params = {
        "codes": codes,
        "into": into or None,
        "new_code": new_code or None,
        "new_name": new_name or None,
        "parent": parent or None,
        "children": mapping,
    }
    builder = _Builder(Restructure.Kind.MERGE, effective_on, params)
    builder.mapping = mapping
    merged = builder.lookup(codes, "codes")
    continuing = builder.lookup_one(into, "into") if into else None
    if into and (new_code or new_name):
        builder.problem("into", _("Merge into one of the organisations or into a new one, not both."))
    if not into and not new_code:
        builder.problem("new_code", _("Choose the organisation they merge into, or give the new one's code and name."))
    if new_code and not new_name:
        builder.problem("new_name", _("Give the name of the new organisation."))
    predecessors = list(merged)
    if continuing is not None and continuing not in predecessors:
        predecessors.append(continuing)
    if len(predecessors) < 2 and "codes" not in builder.plan.errors:
        builder.problem("codes", _("A merger joins at least two organisations."))
    if builder.plan.problems or builder.day is None:
        return builder.finish()
    if continuing is not None and any(o.kind != continuing.kind for o in merged) and len({o.kind for o in merged}) == 1:
        builder.problem(
            "into",
            _("%(code)s is a %(kind)s: the %(others)s cannot merge into an organisation of another kind.")
            % {
                "code": continuing.code,
                "kind": continuing.get_kind_display(),
                "others": merged[0].get_kind_display(),
            },
        )
        return builder.finish()
    if not builder.check_same_kind_and_root(predecessors, "codes"):
        return builder.finish()
    kind = predecessors[0].kind
    if continuing is not None:
        successor = continuing.code
        if builder.check_exists_before(continuing, "into"):
            builder.top = predecessors
            for organisation in merged:
                if organisation.pk != continuing.pk:
                    builder.end(organisation, successor, successor, "codes")
    else:
        successor = new_code
        parent_org = _merge_parent(builder, merged, parent)
        if parent_org is not None:
            sectors = {organisation.sector for organisation in merged}
            sector = merged[0].sector if len(sectors) > 1 else sectors.pop()
            created = builder.start(
                NewOrganisation(code=new_code, name=new_name, kind=kind, parent_code=parent_org.code, sector=sector),
                "new_code",
            )
            if created:
                builder.top = merged
                for organisation in merged:
                    builder.end(organisation, successor, successor, "codes")
    if builder.plan.problems:
        return builder.finish()
    builder.succeed_descendants()
    builder.plan.records.append((Restructure.Kind.MERGE.value, [o.code for o in predecessors], [successor]))
    return builder.finish()


def _merge_parent(builder: _Builder, merged: list[Organisation], parent: str) -> Organisation | None:
    kind = merged[0].kind
    if not Organisation.ALLOWED_PARENT_KINDS.get(kind):
        if parent:
            builder.problem("parent", _("This kind of organisation has no parent organisation."))
        builder.problem(
            "new_code",
            _("A %(kind)s has no parent: merge into one of them.") % {"kind": merged[0].get_kind_display()},
        )
        return None
    if parent:
        found = builder.lookup_one(parent, "parent")
    else:
        parents = {organisation.parent_id for organisation in merged}
        if len(parents) > 1:
            builder.problem(
                "parent", _("The organisations stand under different organisations: choose the new one's parent.")
            )
            return None
        found = merged[0].parent
    if found is None:
        return None
    if not found.is_valid_on(builder.day):
        builder.problem(
            "parent",
            _("%(code)s does not exist on %(day)s.") % {"code": found.code, "day": day_text(builder.day)},
        )
        return None
    if builder.root_key(found) != builder.root_key(merged[0]):
        builder.problem("parent", _("%(code)s belongs to another organisation tree.") % {"code": found.code})
        return None
    return found


# -- split -------------------------------------------------------------------------------------------------------------


def plan_split(
    *,
    code: str,
    effective_on: datetime.date | str,
    parts: list[tuple[str, str]],
    assignment: dict[str, str],
    children: dict[str, str] | None = None,
) -> Plan:
    """One organisation ends and several new ones of its kind start under its parent. ``assignment`` maps each of
    its subordinate organisations (by code) and each member whose home is the organisation itself or who is placed in
    it (by card number) to a part; ``children`` may give a subordinate organisation's successor another code than
    ``"<part>-<code>"``."""
    code = _text(code)
    read_parts: list[tuple[str, str]] = []
    malformed = False
    for part in parts or []:
        if isinstance(part, list | tuple) and len(part) == 2:
            read_parts.append((_text(part[0]), normalise_line(part[1]) if isinstance(part[1], str) else ""))
        else:
            malformed = True
    assignment = _str_map(assignment)
    mapping = _str_map(children)
    params = {
        "code": code,
        "parts": [list(part) for part in read_parts],
        "assignment": assignment,
        "children": mapping,
    }
    builder = _Builder(Restructure.Kind.SPLIT, effective_on, params)
    builder.mapping = mapping
    divided = builder.lookup_one(code, "code") if code else None
    if not code:
        builder.problem("code", _("Choose the organisation to split."))
    if malformed:
        builder.problem("parts", _("Give each part as a code and a name."))
    part_codes = [part_code for part_code, _name in read_parts]
    if len(read_parts) < 2:
        builder.problem("parts", _("A split divides an organisation into at least two parts."))
    duplicated = sorted(c for c, n in Counter(part_codes).items() if n > 1)
    if duplicated:
        builder.problem(
            "parts", _("Each part has its own code: %(codes)s repeated.") % {"codes": ", ".join(duplicated)}
        )
    if builder.plan.problems or builder.day is None or divided is None:
        return builder.finish()
    if divided.parent is None:
        builder.problem("code", _("%(code)s stands under no organisation: it cannot be split.") % {"code": code})
        return builder.finish()
    builder.top = [divided]
    builder.end(divided, None, "", "code")
    created = [
        builder.start(
            NewOrganisation(
                code=part_code, name=name, kind=divided.kind, parent_code=divided.parent.code, sector=divided.sector
            ),
            "parts",
        )
        for part_code, name in read_parts
    ]
    if builder.plan.problems or not all(created):
        return builder.finish()
    parts_set = set(part_codes)
    builder.plan.assigned = {key: part for key, part in assignment.items() if part in parts_set}
    used: set[str] = set()
    unassigned_children: list[str] = []
    for child in builder.live_children(divided):
        part = assignment.get(child.code)
        used.add(child.code)
        if not part:
            unassigned_children.append(child.code)
            continue
        if part not in parts_set:
            builder.problem(
                "assignment",
                _("%(key)s is assigned to %(part)s, which is not one of the parts.")
                % {"key": child.code, "part": part},
            )
            continue
        target = builder.take_mapping(child.code) or f"{part}-{child.code}"
        builder.succeed_child(child, target, part, part, "assignment")
    if unassigned_children:
        builder.problem(
            "assignment",
            ngettext(
                "Subordinate organisation %(codes)s is left unassigned: choose the part it goes to.",
                "Subordinate organisations %(codes)s are left unassigned: choose the part each goes to.",
                len(unassigned_children),
            )
            % {"codes": ", ".join(unassigned_children)},
        )
    builder.succeed_descendants()
    builder.plan.records.append((Restructure.Kind.SPLIT.value, [divided.code], part_codes))
    plan = builder.finish()
    members = builder.divided_members.get(divided.code, [])
    cards = {card for card, _name in members}
    plan.assigned = {card: part for card, part in plan.assigned.items() if card in cards}
    for key, part in assignment.items():
        if key in used or key not in cards:
            continue
        if part not in parts_set:
            builder.problem(
                "assignment",
                _("%(key)s is assigned to %(part)s, which is not one of the parts.") % {"key": key, "part": part},
            )
    missing = list(dict.fromkeys((card, name) for card, name in members if card not in assignment))
    for card, name in missing[:LISTED_UNASSIGNED]:
        builder.problem(
            "assignment",
            _("Member %(name)s (card %(card)s) is left unassigned: choose the part they go to.")
            % {"name": name, "card": card},
        )
    if len(missing) > LISTED_UNASSIGNED:
        rest = len(missing) - LISTED_UNASSIGNED
        builder.problem(
            "assignment",
            ngettext("And %(n)s more member left unassigned.", "And %(n)s more members left unassigned.", rest)
            % {"n": rest},
        )
    unknown = sorted(key for key in assignment if key not in used and key not in cards)
    if unknown:
        builder.problem(
            "assignment",
            _("%(keys)s: neither a subordinate organisation of %(code)s nor a member in it.")
            % {"keys": ", ".join(unknown), "code": divided.code},
        )
    return plan


def assignment_from_file(file: str | Path | IO[bytes]) -> dict[str, str]:
    """A split's assignment from a workbook (.xlsx) or a CSV file (UTF-8): one row per subordinate organisation
    (column ``Mã``) or member (column ``Số thẻ``), with the part's code in ``Mã kế tục``. Raises a ValidationError on
    ``assignment`` when the file cannot be read or holds contradictory rows."""
    rows = _assignment_rows(file)
    header_at = next(
        (i for i, row in enumerate(rows[:10]) if "mã kế tục" in [normalise_line(str(v or "")).lower() for v in row]),
        None,
    )
    if header_at is None:
        raise ValidationError(
            {"assignment": _("The file has no column “Mã kế tục” (with “Mã” or “Số thẻ”) in its first rows.")}
        )
    headers = [normalise_line(str(value or "")).lower() for value in rows[header_at]]
    part_column = headers.index("mã kế tục")
    key_columns = [headers.index(name) for name in ("mã", "số thẻ") if name in headers]
    if not key_columns:
        raise ValidationError({"assignment": _("The file has neither a column “Mã” nor a column “Số thẻ”.")})
    assignment: dict[str, str] = {}
    errors: list[str] = []
    for number, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        cells = list(row) + [None] * (len(headers) - len(row))
        part = _cell_text(cells[part_column])
        keys = [_cell_text(cells[column]) for column in key_columns]
        keys = [key for key in keys if key]
        if not part and not keys:
            continue
        if not part or not keys:
            errors.append(_("Row %(row)s: give a code or a card number, and the part's code.") % {"row": number})
            continue
        for key in keys:
            if assignment.get(key, part) != part:
                errors.append(_("Row %(row)s: %(key)s is assigned to two parts.") % {"row": number, "key": key})
            assignment[key] = part
    if errors:
        raise ValidationError({"assignment": errors[:50]})
    return assignment


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


MAX_ASSIGNMENT_BYTES = 10 * 1024 * 1024
MAX_ASSIGNMENT_ROWS = 100_000


def _assignment_rows(file: str | Path | IO[bytes]) -> list[list[Any]]:
    if isinstance(file, str | Path):
        with open(file, "rb") as handle:
            return _assignment_rows(io.BytesIO(handle.read(MAX_ASSIGNMENT_BYTES + 1)))
    data = file.read(MAX_ASSIGNMENT_BYTES + 1)
    if isinstance(data, str):
        data = data.encode()
    if len(data) > MAX_ASSIGNMENT_BYTES:
        raise ValidationError({"assignment": _("The file is larger than 10 MB.")})
    if zipfile.is_zipfile(io.BytesIO(data)):
        from workbooks.reading import WorkbookRefused, check_file  # the import's guards against hostile workbooks

        upload = io.BytesIO(data)
        try:
            check_file(upload, size=len(data))
        except WorkbookRefused as refused:
            raise ValidationError({"assignment": str(refused.message)}) from None
        return _xlsx_rows(upload)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(
            {"assignment": _("Save the list as an Excel workbook (.xlsx) or a UTF-8 CSV file.")}
        ) from None
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = []
    for row in csv.reader(io.StringIO(text), dialect):
        rows.append(row)
        if len(rows) > MAX_ASSIGNMENT_ROWS:
            raise ValidationError({"assignment": _("The list has more than 100,000 rows.")})
    return rows


def _xlsx_rows(upload: IO[bytes]) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(upload, read_only=True, data_only=True)
    except Exception:  # a damaged workbook: openpyxl raises many kinds
        raise ValidationError(
            {"assignment": _("This file is not an Excel workbook (.xlsx) that can be read.")}
        ) from None
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        rows: list[list[Any]] = []
        if sheet is not None:
            sheet.reset_dimensions()
            for row in sheet.iter_rows(values_only=True, max_col=30):
                rows.append(list(row))
                if len(rows) > MAX_ASSIGNMENT_ROWS:
                    raise ValidationError({"assignment": _("The list has more than 100,000 rows.")})
        return rows
    finally:
        workbook.close()


# -- rename ------------------------------------------------------------------------------------------------------------


def plan_rename(*, code: str, effective_on: datetime.date | str, name: str) -> Plan:
    """The organisation bears ``name`` from the effective date on: the row and its code stay, its former name is kept
    with its dates (``branches.services.organisation_rename``)."""
    code = _text(code)
    name = normalise_line(name) if isinstance(name, str) else ""
    builder = _Builder(Restructure.Kind.RENAME, effective_on, {"code": code, "name": name})
    organisation = builder.lookup_one(code, "code") if code else None
    if not code:
        builder.problem("code", _("Choose the organisation to rename."))
    try:
        validate_name(name)
        if len(name) > NAME_MAX_LENGTH:
            raise ValidationError(_("A name has at most %(n)s characters.") % {"n": NAME_MAX_LENGTH})
    except ValidationError as error:
        for message in error.messages:
            builder.problem("name", message)
    if organisation is None or builder.day is None:
        return builder.finish()
    if name == organisation.name:
        builder.problem("name", _("This is already the organisation's name."))
    last = organisation.former_names.order_by("-valid_to").values_list("valid_to", flat=True).first()
    named_since = max(organisation.valid_from, last) if last else organisation.valid_from
    if builder.day <= named_since:
        builder.problem(
            "effective_on",
            _("The organisation bears its name since %(day)s: a rename takes effect after that day.")
            % {"day": day_text(named_since)},
        )
    if organisation.valid_to is not None and organisation.valid_to <= builder.day:
        builder.problem(
            "effective_on",
            _("The organisation no longer exists on that day (it ended on %(day)s).")
            % {"day": day_text(organisation.valid_to)},
        )
    builder.plan.renamed.append((organisation, name))
    builder.plan.records.append((Restructure.Kind.RENAME.value, [organisation.code], [organisation.code]))
    return builder.finish()


# -- move --------------------------------------------------------------------------------------------------------------


def plan_move(
    *,
    code: str,
    effective_on: datetime.date | str,
    parent: str,
    new_code: str | None = None,
    children: dict[str, str] | None = None,
) -> Plan:
    """The organisation ends and a copy of it (code ``new_code``, default ``"<code>-<yyyy>"``) starts under
    ``parent``; every organisation under it ends too and is copied under its parent's successor (``children``)."""
    code, parent, new_code = _text(code), _text(parent), _text(new_code)
    mapping = _str_map(children)
    params = {"code": code, "parent": parent, "new_code": new_code or None, "children": mapping}
    builder = _Builder(Restructure.Kind.MOVE, effective_on, params)
    builder.mapping = mapping
    organisation = builder.lookup_one(code, "code") if code else None
    if not code:
        builder.problem("code", _("Choose the organisation to move."))
    parent_org = builder.lookup_one(parent, "parent") if parent else None
    if not parent:
        builder.problem("parent", _("Choose the organisation it moves under."))
    if organisation is None or parent_org is None or builder.day is None:
        return builder.finish()
    successor = new_code or f"{organisation.code}-{builder.day.year}"
    if parent_org.pk == organisation.parent_id:
        builder.problem("parent", _("%(code)s already stands under %(parent)s.") % {"code": code, "parent": parent})
    elif parent_org.path.startswith(organisation.path):
        builder.problem("parent", _("An organisation cannot move under itself or its own subtree."))
    elif builder.root_key(parent_org) != builder.root_key(organisation):
        builder.problem("parent", _("%(code)s belongs to another organisation tree.") % {"code": parent})
    elif not parent_org.is_valid_on(builder.day):
        builder.problem(
            "parent", _("%(code)s does not exist on %(day)s.") % {"code": parent, "day": day_text(builder.day)}
        )
    if builder.plan.problems:
        return builder.finish()
    created = builder.start(
        NewOrganisation(
            code=successor,
            name=organisation.name,
            kind=organisation.kind,
            parent_code=parent_org.code,
            sector=organisation.sector,
        ),
        "new_code",
    )
    if not created:
        return builder.finish()
    builder.top = [organisation]
    builder.end(organisation, successor, successor, "code")
    builder.succeed_descendants()
    builder.plan.records.append((Restructure.Kind.MOVE.value, [organisation.code], [successor]))
    return builder.finish()


PLANNERS: dict[str, Callable[..., Plan]] = {
    Restructure.Kind.MERGE: plan_merge,
    Restructure.Kind.SPLIT: plan_split,
    Restructure.Kind.RENAME: plan_rename,
    Restructure.Kind.MOVE: plan_move,
}


def plan_for(kind: str, **params: Any) -> Plan:
    """The plan of a restructure of ``kind`` from its inputs (``Plan.params`` gives them back, JSON-serialisable)."""
    if kind not in PLANNERS:
        raise ValidationError({"kind": _("Unknown kind of restructure: %(kind)s.") % {"kind": kind}})
    return PLANNERS[kind](**params)
