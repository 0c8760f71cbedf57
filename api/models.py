"""API tokens: a user's keys for the open API (/api/v1/).

Only a SHA-256 digest of a key is stored: the key itself is shown once, when it is issued, and cannot be read back
(a leaked database does not leak working keys). A key is 32 random bytes, so a fast digest is enough: there is no
password to guess behind it. A user may hold several tokens (one per script or system), each with a name; a revoked
token stays listed (when it was made, last used and revoked) and no longer opens anything.
"""

import datetime
import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Every key starts with this, so that a key pasted in the wrong place (a log, a chat) is recognisable.
KEY_PREFIX = "d76_"
# How many characters of a key (after KEY_PREFIX) are kept in clear, to tell one's tokens apart in the list.
SHOWN_CHARACTERS = 6
# ``last_used_at`` is written at most this often (seconds): not a database write per request.
LAST_USED_RESOLUTION = 60


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100, help_text=_("What the token is for, e.g. the system using it."))
    shown = models.CharField(_("key begins with"), max_length=20, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("issued at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.name} ({self.shown}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def issue(cls, user, name: str) -> tuple["ApiToken", str]:
        """A new token for ``user`` and its key, which only the caller ever sees."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, name=name, shown=key[: len(KEY_PREFIX) + SHOWN_CHARACTERS], digest=digest_of(key)
        )
        return token, key

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            ApiToken.objects.filter(pk=self.pk, revoked_at__isnull=True).update(revoked_at=self.revoked_at)

    def note_use(self) -> None:
        """Record that the token was used now (at most one write a minute)."""
        now = timezone.now()
        if self.last_used_at and (now - self.last_used_at).total_seconds() < LAST_USED_RESOLUTION:
            return
        since = now - datetime.timedelta(seconds=LAST_USED_RESOLUTION)
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=since)
        ApiToken.objects.filter(stale, pk=self.pk).update(last_used_at=now)
        self.last_used_at = now


class Deletion(models.Model):
    """A row the API lists (``Kind``), deleted: for a synchronising client to delete its copy (``/api/v1/deletions/``).

    The row is gone, and with it what placed it in a user's scope: the organisations whose subtrees held it are
    recorded with it at the moment of deletion (``DeletionPlace``), so that it is shown to the users who could see it,
    and to nobody else. Written by ``api.deletions.record``; never changed afterwards."""

    class Kind(models.TextChoices):
        # The names of the API's lists (``/api/v1/<kind>s/``): what the client's copy holds.
        ORGANISATION = "organisation", _("organisation")
        MEMBER = "member", _("member")
        REFERRAL = "referral", _("referral")
        MEETING = "meeting", _("meeting")
        COMMENT = "comment", _("residence comment")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    object_id = models.BigIntegerField(_("id of the deleted row"))
    deleted_at = models.DateTimeField(_("deleted at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("deletion")
        verbose_name_plural = _("deletions")
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}"


class DeletionPlace(models.Model):
    """An organisation whose subtree held a deleted row, on one side of the scope rules (``branches.access``): the
    users of that side whose subtree holds the organisation's path (as it was at the deletion) see the deletion."""

    class Side(models.TextChoices):
        # Never shown to users: no translated labels.
        TREE = "tree"  # an organisation: seen by every post of its subtree (visible_organisations)
        WORKPLACE = "workplace"  # a member's home cell, a referral's issuing organisation
        RESIDENCE = "residence"  # a ward addressed, a residential cell

    deletion = models.ForeignKey(Deletion, on_delete=models.CASCADE, related_name="places")
    side = models.CharField(max_length=10, choices=Side.choices)
    # Indexed as the organisations' path is: a subtree is a prefix (``LIKE 'p%'``).
    path = models.CharField(max_length=255, db_index=True)

    def __str__(self) -> str:
        return f"{self.side} {self.path}"
