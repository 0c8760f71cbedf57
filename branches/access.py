"""What a user's posts let them see and do: computed once per request, applied by the selectors.

A post at the root organisation (city committee staff) sees and does everything; a post elsewhere reaches that
organisation's subtree, in the way its kind of organisation works under the regulation:

- workplace side (a grassroots committee, a grassroots cell, a subordinate cell; a ward for its own agency cell):
  the members whose home cell is in the subtree, their referrals, meetings and comments;
- residence side (a ward): referrals addressed to it, its residential cells, their meetings and comments;
- a residential cell: the referred members placed in it and its meetings;
- an upper-level committee (a district or bloc committee between the root and grassroots organisations): both sides
  of its subtree (the workplaces' members, the wards' referrals and cells), as the city staff have both sides of all.

Viewers read; every other role also writes. Superusers are treated as city staff.
"""

import dataclasses
import datetime
import functools

from django.db.models import QuerySet
from django.utils import timezone

from branches.models import Officer, Organisation
from branches.selectors import officer_posts_for, subtree_ids

# A subtree of more organisations than this stays a subquery in the scope's queries (``Access.keys``): its keys as a
# literal list would make every query longer than the subquery it saves planning.
KEYS_READ_UP_TO = 1000

# Counts the saves and deletions of organisations in this process (``organisation_written``, connected in
# ``BranchesConfig.ready``): what an ``Access`` built from the tree before the last one is stale by.
_tree_writes = 0


def organisation_written(**kwargs) -> None:
    global _tree_writes
    _tree_writes += 1


Kind = Organisation.Kind
WORKPLACE_KINDS = (Kind.UPPER_COMMITTEE, Kind.COMMITTEE, Kind.GRASSROOTS_CELL, Kind.CELL, Kind.WARD)
RESIDENCE_KINDS = (Kind.UPPER_COMMITTEE, Kind.WARD)


@dataclasses.dataclass(frozen=True)
class Access:
    posts: tuple[Officer, ...]
    is_superuser: bool = False
    # What the selectors built from these posts (the parts of a scope) and the keys of the organisations they read,
    # as of the ``_tree_writes`` they were built under: an Access lives one request (``access_for`` keeps it on the
    # request's user), and a page asks for the same parts several times (its list, each row's steps).
    _built: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)

    def built(self, key, build):
        """``build()``, called once for this access and ``key`` while no organisation is written."""
        if self._built.get("tree writes") != _tree_writes:
            self._built.clear()
            self._built["tree writes"] = _tree_writes
        if key not in self._built:
            self._built[key] = build()
        return self._built[key]

    def keys(self, name: str, paths: tuple[str, ...], query) -> "list[int] | QuerySet":
        """The keys of the organisations ``query(paths)`` selects, read once for this access while no organisation
        is written; ``query(paths)`` itself when it selects more than KEYS_READ_UP_TO.

        A ward's scope is a union of index scans over its subtree's ten organisations (``members.selectors.scope``).
        With the subtree as a subquery in each part, PostgreSQL planned the union for 4-6 ms of every query of a
        ward's page, longer than it ran; with the keys written out, each part is an index scan of a list.
        Read rows are stale once the tree changes, hence ``_tree_writes``: a write of the same request (or of a test
        holding the user) is seen by the next query.
        """

        def read():
            selected = query(paths)
            keys = sorted(selected.values_list("pk", flat=True)[: KEYS_READ_UP_TO + 1])
            return selected if len(keys) > KEYS_READ_UP_TO else keys

        return self.built((name, paths), read)

    def subtree_keys(self, paths: tuple[str, ...]) -> "list[int] | QuerySet":
        """``branches.selectors.subtree_ids(paths)``, read once (``keys``)."""
        return self.keys("subtree", paths, subtree_ids)

    def _organisations(self, kinds, *, write: bool) -> tuple[Organisation, ...]:
        return tuple(
            post.organisation
            for post in self.posts
            if post.organisation.kind in kinds and (post.can_write or not write)
        )

    def is_city(self, *, write: bool = False) -> bool:
        return self.is_superuser or bool(self._organisations((Kind.ROOT,), write=write))

    def workplace_paths(self, *, write: bool = False) -> tuple[str, ...]:
        """Subtrees whose members this user manages as their workplace committee."""
        return tuple(org.path for org in self._organisations(WORKPLACE_KINDS, write=write))

    def ward_paths(self, *, write: bool = False) -> tuple[str, ...]:
        """Subtrees whose residence side (the wards in them) this user runs: a ward's, an upper committee's."""
        return tuple(org.path for org in self._organisations(RESIDENCE_KINDS, write=write))

    def residential_cell_ids(self, *, write: bool = False) -> tuple[int, ...]:
        return tuple(org.pk for org in self._organisations((Kind.RESIDENTIAL_CELL,), write=write))

    @property
    def organisations(self) -> tuple[Organisation, ...]:
        return tuple(post.organisation for post in self.posts)

    @property
    def has_any(self) -> bool:
        return self.is_superuser or bool(self.posts)


@dataclasses.dataclass(frozen=True)
class Committee:
    """An organisation's writing committee, standing in for a user where the selectors take one.

    The selectors read a user's scope through ``access_for``; handed a ``Committee``, they answer with what the
    organisation's own committee sees and may do (``access_of``). The reminders ask them, per organisation, what its
    officers have to act on, so that a reminder never reaches further than the pages do.
    """

    organisation: Organisation
    is_authenticated = True
    is_superuser = False

    @functools.cached_property
    def access(self) -> Access:
        """One access for this committee, as for a user's request: what it built and read (``Access.keys``) serves
        every selector the committee is handed to (a reminder's rule asks several)."""
        return access_of(self.organisation)


def access_for(user, *, day: datetime.date | None = None) -> Access:
    """The user's access today, cached on the user object for the rest of the request."""
    if isinstance(user, Committee):
        return user.access
    if not getattr(user, "is_authenticated", False):
        return Access(posts=())
    day = day or timezone.localdate()
    cached = getattr(user, "_dongha76_access", None)
    if cached is not None and cached[0] == day:
        return cached[1]
    access = Access(posts=tuple(officer_posts_for(user, day=day)), is_superuser=user.is_superuser)
    user._dongha76_access = (day, access)
    return access


def access_of(organisation: Organisation) -> Access:
    """The access of a (writing) officer of ``organisation``: what the organisation's own committee sees, e.g. for
    an export made for it from the command line."""
    post = Officer(organisation=organisation, role=Officer.Role.SECRETARY, started_on=datetime.date.min)
    return Access(posts=(post,))
