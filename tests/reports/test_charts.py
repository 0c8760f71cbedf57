"""The charts' markup for screen readers and keyboards (issue 13's accessibility checks)."""

from reports import charts


def test_a_chart_of_links_is_a_group_and_a_plain_chart_an_image():
    linked = charts.percent_bars([charts.Bar("Phường 1", 50, href="/members/")], title="T", desc="D", empty="-")
    plain = charts.percent_bars([charts.Bar("Phường 1", 50)], title="T", desc="D", empty="-")
    assert 'id="chart-rate" role="group"' in linked
    assert 'id="chart-rate" role="img"' in plain


def test_the_box_that_scrolls_on_a_phone_takes_the_focus_and_is_named_by_the_title():
    chart = charts.percent_line([charts.Point("2025", 90)], title="Trend", desc="D")
    assert '<div class="app-chart-box" tabindex="0" role="group" aria-labelledby="chart-trend-title">' in chart
