"""Root URLs: the admin, accounts, language switching and the home page.

Each app adds its own pages under its prefix, e.g. ``path("members/", include("members.urls"))``, with URL names
``<app>:<thing>-<action>``.
"""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from members.views.todo import home

admin.site.site_header = _("dongha76 – Residence activities")
admin.site.site_title = _("dongha76 – Residence activities")
admin.site.index_title = _("Administration")

accounts_urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password_change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
]

urlpatterns = [
    path("", home, name="home"),
    path("accounts/api-tokens/", include("api.account_urls")),
    path("accounts/", include(accounts_urlpatterns)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("reports/", include("reports.urls")),
    path("workbooks/", include("workbooks.urls")),
    path("audit/", include("audit.urls")),
    path("restructures/", include("restructures.urls")),
    path("reminders/", include("reminders.urls")),
    path("api/v1/", include("api.urls")),
    path("", include("members.urls")),
]

# The error pages in the site layout (dongha76/errors.py); they answer only with DEBUG off.
handler403 = "dongha76.errors.permission_denied"
handler404 = "dongha76.errors.page_not_found"
handler500 = "dongha76.errors.server_error"
