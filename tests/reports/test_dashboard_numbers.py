"""``{% number %}``: the dashboard's numbers, a link to exactly that many rows, or the number alone."""

import pytest
from django.template import Context, Template
from django.utils import translation


def rendered(arguments: str, **context) -> str:
    return Template("{% load dashboard_numbers %}{% number " + arguments + " %}").render(Context(context))


def test_a_weak_spots_number_links_to_its_list_with_its_count():
    assert rendered('n href count="late"', n=7, href="/comments/2018/?state=late") == (
        '<a data-number class="app-weak-number" href="/comments/2018/?state=late" data-count="late">7</a>'
    )


def test_zero_or_no_list_is_the_number_alone():
    alone = '<span class="app-weak-number" data-count="late">{}</span>'
    assert rendered('n href count="late"', n=0, href="/x/") == alone.format(0)
    assert rendered('n href count="late"', n=3, href="") == alone.format(3)


def test_a_table_cells_number_is_plain_and_red_where_it_calls_for_attention():
    assert rendered("n href plain=True", n=5, href="/m/") == '<a data-number href="/m/">5</a>'
    assert rendered("n href plain=True danger=True", n=5, href="/m/") == (
        '<a data-number class="link-danger" href="/m/">5</a>'
    )
    assert rendered("n href plain=True danger=True", n=0, href="/m/") == "<span>0</span>"


@pytest.mark.parametrize(("language", "shown"), [("vi", "12.345"), ("en", "12,345")])
def test_thousands_are_grouped_as_the_language_groups_them_and_the_link_is_escaped(language, shown):
    with translation.override(language):
        html = rendered("n href plain=True", n=12345, href='/m/?a=1&b="2"')
    assert html == f'<a data-number href="/m/?a=1&amp;b=&quot;2&quot;">{shown}</a>'
