"""The [blind] section: canary URLs and thresholds, every refusal with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ronda.config import BlindSettings, Canary, ConfigError, parse_config

NAME = Path("ronda.toml")


def blind_of(text: str) -> BlindSettings:
    return parse_config(text, NAME).blind


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, NAME)
    return caught.value.problems


def test_defaults_and_every_kind_of_canary() -> None:
    assert blind_of("") == BlindSettings()
    assert BlindSettings().share == 0.5 and BlindSettings().min_servers == 2
    got = blind_of(
        "[blind]\n"
        'canaries = ["tcp://[::1]:53", "dns://wordpress.org", "http://10.0.0.1:8080/ping",'
        ' "HTTPS://example.com"]\n'
        'share = 0.75\nmin_servers = 3\nsample = 0\nwindow = "2m"\ncanary_timeout = "500ms"\n'
    )
    assert got.canaries == (
        Canary("tcp://[::1]:53", "tcp", "::1", 53),
        Canary("dns://wordpress.org", "dns", "wordpress.org"),
        Canary("http://10.0.0.1:8080/ping", "http", "10.0.0.1", 8080),
        Canary("HTTPS://example.com", "http", "example.com", 443),
    )
    assert (got.share, got.min_servers, got.sample, got.window, got.canary_timeout) == (
        0.75,
        3,
        0,
        120.0,
        0.5,
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('canaries = "tcp://a:1"', "blind.canaries: 'tcp://a:1' is not a list of canary URLs"),
        ('canaries = ["ftp://a"]', "blind.canaries[0]: 'ftp://a' has no scheme of tcp, dns"),
        ('canaries = ["tcp://a"]', "blind.canaries[0]: 'tcp://a' is not tcp://host:port"),
        ('canaries = ["tcp://a:0"]', "blind.canaries[0]: 'tcp://a:0' is not tcp://host:port"),
        ('canaries = ["tcp://a:99999"]', "blind.canaries[0]: 'tcp://a:99999' is not a usable URL"),
        ('canaries = ["dns://a:53"]', "blind.canaries[0]: 'dns://a:53' is not dns://name"),
        ('canaries = ["https://"]', "blind.canaries[0]: 'https://' names no host"),
        ('canaries = ["http://u:p@a/"]', "blind.canaries[0]: a canary takes no user or password"),
        ('canaries = ["dns://a", "dns://a"]', "blind.canaries[1]: 'dns://a' is already "),
        ("canaries = [1]", "blind.canaries[0]: 1 is not a string"),
        ("share = 0", "blind.share: 0 is not a fraction (expected 0 < x <= 1)"),
        ("share = 1.5", "blind.share: 1.5 is not a fraction (expected 0 < x <= 1)"),
        ("min_servers = 0", "blind.min_servers: 0 is not a positive integer"),
        ("sample = -1", "blind.sample: -1 is not an integer >= 0"),
        ('window = "soon"', "blind.window: 'soon' is not a positive duration"),
        ("shares = 0.5", "blind.shares: unknown key (did you mean 'share'?)"),
    ],
)
def test_each_refusal_names_its_line(line: str, expected: str) -> None:
    (problem,) = problems(f'lang = "en"\n[blind]\n{line}\n')
    assert problem.startswith(f"ronda.toml:3: {expected}"), problem
