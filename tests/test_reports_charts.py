"""The SVG chart geometry: bars scale to the largest value, ticks stay readable."""
from reports import charts


def test_bars_scale_to_the_largest_value_and_small_percentages_keep_a_decimal():
    chart = charts.bar_chart([("2026-01", 0.002, "a"), ("2026-02", 0.004, "b")], as_percent=True)
    first, second = chart.bars
    assert second.height == chart.baseline - charts.TOP and first.height == second.height / 2
    assert [text for _y, text in chart.y_ticks] == ["0.0 %", "0.2 %", "0.4 %"]


def test_stacked_bars_put_each_sector_on_top_of_the_last():
    chart = charts.stacked_chart(["2026-01"], {"municipality": {"2026-01": 30.0}, "hospital": {"2026-01": 10.0}},
                                 {"municipality": "Municipality", "hospital": "Hospital"})
    low, high = chart.bars
    assert low.colour == charts.SECTOR_COLOURS["municipality"] and high.y + high.height == low.y
    assert low.height == 3 * high.height


def test_heat_colours_darken_with_the_value():
    assert charts.heat_colour(0, 10) == charts.HEAT_STEPS[0]
    assert charts.heat_colour(10, 10) == charts.HEAT_STEPS[-1]
    assert charts.heat_colour(1, 10) == charts.HEAT_STEPS[1]
