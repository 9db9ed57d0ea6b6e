"""`[wordpress]` and `[sites.wordpress_checks]`: read, defaulted, refused with line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from ronda.checks.wordpress.health import enabled_checks
from ronda.config import ConfigError, parse_config
from ronda.config.wordpress import CHECKS

SITE = """
[[sites]]
name = "tienda"
url = "https://tienda.example/"
"""


def test_defaults_every_check_on_and_the_api_asked_daily() -> None:
    config = parse_config(SITE)
    assert config.wordpress.latest is None
    assert config.wordpress.version_check_url.startswith("https://api.wordpress.org/")
    assert config.wordpress.version_check_every == 86400.0
    assert enabled_checks(config.wordpress, config.sites[0]) == frozenset(CHECKS)


def test_settings_and_switches(tmp_path: Path) -> None:
    text = (
        """
[wordpress]
latest = "6.7.1"
images_per_round = 2
safe_browsing = "webrisk"
safe_browsing_key_file = "keys/web-risk.key"
safe_browsing_every = "12h"
[wordpress.checks]
images = false
login = false
"""
        + SITE
        + """
[sites.wordpress_checks]
images = true
rest_api = false
"""
    )
    config = parse_config(text, tmp_path / "ronda.toml")
    wp = config.wordpress
    assert wp.latest == "6.7.1" and wp.images_per_round == 2 and wp.safe_browsing == "webrisk"
    assert wp.safe_browsing_key_file == (tmp_path / "keys" / "web-risk.key").resolve()
    assert wp.safe_browsing_every == 12 * 3600.0
    on = enabled_checks(wp, config.sites[0])
    assert "images" in on and "login" not in on and "rest_api" not in on and "core" in on


def test_refusals_name_file_line_and_key() -> None:
    text = """[wordpress]
latest = "seis"
safe_browsing = "bing"
images_per_round = 0
version_check_url = "ftp://x"
[wordpress.checks]
imagen = false
[[sites]]
name = "tienda"
url = "https://tienda.example/"
[sites.wordpress_checks]
login = "no"
"""
    with pytest.raises(ConfigError) as info:
        parse_config(text, Path("ronda.toml"))
    text_ = "\n".join(info.value.problems)
    assert "ronda.toml:2: wordpress.latest: 'seis' is not a version" in text_
    assert (
        "ronda.toml:3: wordpress.safe_browsing: 'bing' is not one of safebrowsing, webrisk" in text_
    )
    assert "ronda.toml:4: wordpress.images_per_round: 0 is not a positive integer" in text_
    assert "ronda.toml:5: wordpress.version_check_url:" in text_
    assert "ronda.toml:7: wordpress.checks.imagen: unknown key (did you mean 'images'?)" in text_
    assert "ronda.toml:12: sites[0].wordpress_checks.login: 'no' is not true or false" in text_


def test_the_image_sample_is_bounded() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("[wordpress]\nimages_per_round = 50\n", Path("ronda.toml"))
    assert "ronda.toml:2: wordpress.images_per_round: 50 is more than 10" in str(info.value)


def test_a_lookup_needs_a_key() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config('[wordpress]\nsafe_browsing = "safebrowsing"\n')
    assert "needs an API key" in str(info.value)
