"""URLs of the members app: names are ``members:<thing>-<action>``. Each view module keeps its own patterns."""

from members.views import books, cells, comments, meetings, people, referrals

app_name = "members"

urlpatterns = [
    *people.urlpatterns,
    *referrals.urlpatterns,
    *cells.urlpatterns,
    *books.urlpatterns,
    *meetings.urlpatterns,
    *comments.urlpatterns,
]
