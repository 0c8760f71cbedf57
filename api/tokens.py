"""The user's own API tokens page (account menu): issue a token (its key shown once, on the answer to the issue),
see one's tokens and revoke one. The admin does the same for every user (api.admin)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from api.models import ApiToken
from dongha76.text import validate_text

# Tokens one user may hold at once (one per script or system is the idea, not one per run).
MAX_ACTIVE_TOKENS = 20


class IssueForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        validators=[validate_text],
        help_text=gettext_lazy("What the token is for, e.g. the system using it."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self):
        if ApiToken.objects.active().filter(user=self.user).count() >= MAX_ACTIVE_TOKENS:
            raise forms.ValidationError(
                _("You hold %(count)d active tokens: revoke one you no longer use before issuing another.")
                % {"count": MAX_ACTIVE_TOKENS}
            )
        return super().clean()


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    """GET: the user's tokens. POST: issue one, and show its key on this answer only (never stored, never cached)."""
    form = IssueForm(request.POST if request.method == "POST" else None, user=request.user)
    issued = key = None
    if request.method == "POST" and form.is_valid():
        issued, key = ApiToken.issue(request.user, form.cleaned_data["name"])
        form = IssueForm(user=request.user)
    tokens = ApiToken.objects.filter(user=request.user)
    return render(request, "api/tokens.html", {"form": form, "tokens": tokens, "issued": issued, "key": key})


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = ApiToken.objects.filter(user=request.user, pk=pk).first()
    if token is None:
        raise Http404  # another user's token, like one that does not exist
    if token.is_active:
        token.revoke()
        messages.success(
            request, _("The token %(name)s is revoked: its key no longer opens anything.") % {"name": token.name}
        )
    return redirect("api-tokens:list")
