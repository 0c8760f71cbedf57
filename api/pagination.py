"""Lists come a page at a time, by cursor (``next``/``previous`` links): a stable order by primary key, so a client
paging through a list while rows are added neither skips nor repeats one, and a page costs the same at the end of a
list of millions as at its start (no OFFSET)."""

from rest_framework.pagination import CursorPagination


class ByPrimaryKey(CursorPagination):
    ordering = "pk"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500


class Meetings(ByPrimaryKey):
    """Meetings come with their attendance (tens of rows each): smaller pages."""

    page_size = 20
    max_page_size = 100
