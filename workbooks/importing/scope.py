"""Who may write what through an import: the same answers as the pages give, asked once per row.

The import asks of every row: may this user write it, as it is stored and as it would be? It answers with the scope
functions of the pages (``members.selectors.scope``): a member is changed by those who may edit it on its page
(``members_editable_by``); a stored referral's letter by its issuer, its reception by the ward it is addressed to,
its end by either (the stored row's ward and issuer, never the ward the row names); a new referral by those who may
introduce the member, or by a ward registering a member of an outside organisation it receives. After every sheet is
written (in the import's transaction), what was written must still be the user's to change.

The answer comes before any rule is checked: a rule's message may quote the stored row (an admission day, a
retirement day). A member or referral the user cannot see at all is refused with the message an unknown one gets,
so that the import cannot be used to learn what exists outside one's sight; and a row about it is refused even when
it would change nothing, or "unchanged" would tell the importer that their guess of the stored data was right.

The questions are asked in bulk (a few queries per sheet, whatever its size): the scope querysets filtered by the
primary keys of the rows.
"""

import dataclasses
from collections.abc import Iterable

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from branches.access import Access
from branches.models import Organisation
from dongha76.services import User
from members.selectors import (
    members_editable_by,
    members_introducible_by,
    national_ids_shown_to,
    referral_letters_writable_by,
    referrals_endable_by,
    referrals_receivable_by,
    visible_members,
    visible_referrals,
)

Kind = Organisation.Kind
CHUNK = 2000

CARD_OUT_OF_SIGHT = _("This party card number belongs to a member outside the part of the tree you manage.")
MEMBER_NOT_EDITABLE = _("This member's cell is outside the part of the tree you manage.")
OUTSIDE_MEMBER_WITHOUT_REFERRAL = _(
    "A ward registers a member of an outside organisation together with the member's referral to the ward: add it "
    "to the sheet “Giới thiệu”."
)
INTRODUCTION_NOT_YOURS = _(
    "Only the member's workplace committee introduces this member (a ward registers only the members of outside "
    "organisations it receives)."
)
LETTER_NOT_YOURS = _("Only the organisation that issued this letter changes its receiving ward, number or issuer.")
RECEPTION_NOT_YOURS = _("Only the receiving ward records the reception, placement and report of this referral.")
END_NOT_YOURS = _("Only the member's workplace committee or the receiving ward ends this referral.")
NOT_YOURS_AFTER_IMPORT = _("After this import the row would be outside the part of the tree you manage.")
HOME_NOT_YOURS = _(
    "This organisation is outside the part of the tree you manage: a member's time in it is recorded by its own "
    "committee."
)
HISTORY_NOT_YOURS = _(
    "The member's history records %(organisation)s from %(date)s, outside the part of the tree you manage: only its "
    "own committee changes that period."
)
CELL_NOT_THE_WARDS = _(
    "This residential cell is neither in the ward the member was referred to nor in a ward that took it over."
)


def national_ids_found_too_often(count: int) -> str:
    return ngettext(
        "%(count)s national ID of this sheet belongs to another member, and you have been told of such national IDs "
        "too often today: the row is not named. Check the national IDs with the members concerned, or ask the city "
        "committee.",
        "%(count)s national IDs of this sheet belong to other members, and you have been told of such national IDs "
        "too often today: the rows are not named. Check the national IDs with the members concerned, or ask the city "
        "committee.",
        count,
    ) % {"count": count}


def _pks_in(queryset: QuerySet, pks: Iterable[int]) -> set[int]:
    """The primary keys among ``pks`` that ``queryset`` holds, in a query per chunk."""
    pks = [pk for pk in set(pks) if pk is not None]
    found: set[int] = set()
    for start in range(0, len(pks), CHUNK):
        found.update(queryset.filter(pk__in=pks[start : start + CHUNK]).values_list("pk", flat=True))
    return found


@dataclasses.dataclass(frozen=True)
class ImportScope:
    """Where an importer may write: everything for city staff (and the command line); else what the pages let the
    user write, asked through ``user``.

    ``paths`` (the subtrees of the user's posts at grassroots organisations) is the scope of the sheet of
    organisations, which the pages leave to city staff and which an officer fills for their own subtree only.
    """

    everything: bool
    user: User | None = None
    paths: tuple[str, ...] = ()
    workplace_paths: tuple[str, ...] = ()
    ward_paths: tuple[str, ...] = ()

    @classmethod
    def of(cls, access: Access | None, user: User | None = None) -> "ImportScope":
        if access is None or access.is_city(write=True):
            return cls(everything=True, user=user)
        posts = [post.organisation for post in access.posts if post.can_write]
        grassroots = [org for org in posts if org.kind in Organisation.GRASSROOTS_KINDS]
        return cls(
            everything=False,
            user=user,
            paths=tuple(org.path for org in grassroots),
            workplace_paths=access.workplace_paths(write=True),
            ward_paths=access.ward_paths(write=True),
        )

    @property
    def may_import(self) -> bool:
        return self.everything or bool(self.paths)

    # -- organisations -------------------------------------------------------------------------------------------

    def covers(self, organisation: Organisation) -> bool:
        return self.everything or organisation.path.startswith(self.paths)

    # -- members -------------------------------------------------------------------------------------------------

    def may_be_home(self, organisation: Organisation) -> bool:
        """Whether the user may make ``organisation`` a member's home: a cell of their workplace subtrees (the
        choices of the member form), or, for a ward, an outside organisation (whose members it registers; that the
        member is then received by the ward is checked once every sheet is written)."""
        if self.everything:
            return True
        if organisation.kind == Kind.OUTSIDE:
            return bool(self.ward_paths)
        return organisation.path.startswith(self.workplace_paths)

    def members_seen(self, pks: Iterable[int]) -> set[int] | None:
        """Those of the members ``pks`` the user may look at (None: all)."""
        return None if self.everything else _pks_in(visible_members(self.user), pks)

    def members_editable(self, pks: Iterable[int]) -> set[int] | None:
        return None if self.everything else _pks_in(members_editable_by(self.user), pks)

    def national_ids_seen(self, pks: Iterable[int]) -> set[int] | None:
        """Those of the members ``pks`` whose national ID the user sees in full (None: all)."""
        return None if self.everything else _pks_in(national_ids_shown_to(self.user), pks)

    def members_introducible(self, pks: Iterable[int]) -> set[int] | None:
        return None if self.everything else _pks_in(members_introducible_by(self.user), pks)

    def receives_at(self, ward: Organisation) -> bool:
        return self.everything or (ward.kind == Kind.WARD and ward.path.startswith(self.ward_paths))

    # -- referrals -----------------------------------------------------------------------------------------------

    def referral_rights(self, pks: Iterable[int]) -> "ReferralRights":
        """What the user may do with each of the stored referrals ``pks``."""
        if self.everything:
            return ReferralRights(everything=True)
        pks = list(pks)
        return ReferralRights(
            everything=False,
            seen=_pks_in(visible_referrals(self.user), pks),
            letter=_pks_in(referral_letters_writable_by(self.user), pks),
            reception=_pks_in(referrals_receivable_by(self.user), pks),
            end=_pks_in(referrals_endable_by(self.user), pks),
        )

    def referrals_writable(self, pks: Iterable[int]) -> set[int] | None:
        """Those of the referrals ``pks`` the user may still change in some way (None: all)."""
        return None if self.everything else _pks_in(referrals_endable_by(self.user), pks)


@dataclasses.dataclass(frozen=True)
class ReferralRights:
    """The user's rights on stored referrals, by primary key: see them, change their letter, record their
    reception (and placement, report), end them."""

    everything: bool
    seen: frozenset[int] | set[int] = frozenset()
    letter: frozenset[int] | set[int] = frozenset()
    reception: frozenset[int] | set[int] = frozenset()
    end: frozenset[int] | set[int] = frozenset()

    def sees(self, pk: int) -> bool:
        return self.everything or pk in self.seen

    def may(self, right: str, pk: int) -> bool:
        return self.everything or pk in getattr(self, right)
