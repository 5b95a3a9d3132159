"""Theme lines in IROs' mails, matched to the council's own list."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parsers.themes import ThemeReading, read_themes
from rules.presets import get_preset

DORSET = get_preset("dorset").themes


@pytest.mark.parametrize(
    ("text", "themes", "unknown"),
    [
        ("Theme: Placement concerns", ("Placement concerns",), ()),
        ("Dear Tom,\n\nthemes: placement CONCERNS; education\n\nJane", ("Placement concerns", "Education"), ()),
        ("Themes - Drift; Health", ("Drift or delay in care planning", "Health"), ()),
        ("*Theme:* 18+ planning.", ("18+ planning",), ()),
        ("Theme: Housing", ("Housing",), ("Housing",)),
        ("Theme: Non", ("Non",), ("Non",)),  # two themes start so: kept as written, reported
        ("The theme of the review was placement", (), ()),  # not a Theme: line
        ("Theme:", (), ()),
        ("", (), ()),
    ],
)
def test_theme_lines(text: str, themes: tuple[str, ...], unknown: tuple[str, ...]) -> None:
    assert read_themes(text, DORSET) == ThemeReading(themes, unknown)


def test_themes_once_each_in_order_over_several_lines() -> None:
    text = "Theme: Education\nsome words\nThemes: Health, education"
    assert read_themes(text, DORSET).themes == ("Education", "Health")


@given(st.text(max_size=400))
def test_never_raises(text: str) -> None:
    reading = read_themes(text, DORSET)
    assert set(reading.unknown) <= set(reading.themes)
