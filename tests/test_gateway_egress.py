"""The webhook egress policy: no user-chosen URL may make the server send to a private address.

Unit checks of :mod:`pixelmill.gateway.egress`, then the submit-time check over real HTTP
(``POST /v1/imagine`` and ``POST /v1/jobs/{id}/actions``). Delivery-time checks (DNS answers)
are in tests/test_gateway_webhooks.py.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pixelmill.config import Settings
from pixelmill.gateway.egress import EgressDenied, check_url, host_literal, is_public_address
from pixelmill.safety.prefilter import PreFilter
from tests.test_gateway_api import Api, error_of, make_api

# Every spelling of a non-public target that must be refused without any DNS lookup.
PRIVATE_URLS = [
    "http://127.0.0.1/hook",
    "http://127.0.0.1:8080/hook",
    "https://127.0.0.1./hook",
    "http://10.1.2.3/",
    "http://172.16.0.1/",
    "http://172.31.255.254/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://0/",
    "http://224.0.0.1/",
    "http://239.255.255.250/",
    "http://255.255.255.255/",
    "http://[::1]/",
    "http://[::]/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[ff02::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::127.0.0.1]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[2002:7f00:1::]/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0x7f.1/",
    "http://0177.1/",
    "http://127.1/",
    "http://127.0.1/",
    "http://0xa9.0xfe.0xa9.0xfe/",
    "http://2852039166/",
    "http://evil.example@127.0.0.1/",
    "http://localhost/",
    "http://LOCALHOST:3000/x",
    "http://localhost./",
    "http://api.localhost/",
]
# Octal dotted quads never reach a resolver: the transport's parser refuses them (still a 400).
UNPARSEABLE_URLS = ["http://0177.0.0.1/", "http://010.0.0.1/", "http://１２７.０.０.１/"]
PUBLIC_URLS = ["http://93.184.216.34/hook", "https://[2606:2800:220:1:248:1893:25c8:1946]/h",
               "https://hooks.example.com/pixelmill?x=1", "http://1.1.1.1:8443/"]


def no_dns(*args: Any) -> list[Any]:
    raise AssertionError(f"unexpected DNS lookup {args}")


def resolves_to(*addresses: str) -> Any:
    def resolve(host: str, port: int, *args: Any) -> list[tuple[Any, ...]]:
        out = []
        for a in addresses:
            family = socket.AF_INET6 if ":" in a else socket.AF_INET
            out.append((family, socket.SOCK_STREAM, 6, "", (a, port)))
        return out
    return resolve


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.0.1", "169.254.169.254", "0.0.0.0", "100.64.1.1",
    "224.0.0.251", "255.255.255.255", "192.0.2.1", "::1", "::", "fc00::1", "fe80::1", "ff0e::1",
    "::ffff:10.0.0.1", "::ffff:127.0.0.1", "64:ff9b::7f00:1", "2002:a00:1::1", "2001:db8::1",
])
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(address)
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "8.8.8.8", "2606:4700:4700::1111",
                                     "::ffff:93.184.216.34", "2002:5db8:d822::1"])
def test_public_addresses(address: str) -> None:
    assert is_public_address(address)


@pytest.mark.parametrize(("host", "expected"), [
    ("2130706433", "127.0.0.1"), ("0x7f.1", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"),
    ("127.1", "127.0.0.1"), ("10.0x10203", "10.1.2.3"), ("127.0.0.1.", "127.0.0.1"),
    ("0", "0.0.0.0"), ("::ffff:127.0.0.1", "::ffff:7f00:1"),
])
def test_host_literal_reads_hosts_like_the_c_resolver(host: str, expected: str) -> None:
    assert host_literal(host) == ipaddress.ip_address(expected)


@pytest.mark.parametrize("host", ["example.com", "1.2.3.com", "08.1.1.1", "256.1.1.1.1", "1.2.3.256",
                                  "0x1g.1", "1e3", "１２７.０.０.１"])
def test_names_are_not_literals(host: str) -> None:
    assert host_literal(host) is None


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_private_targets_are_refused_without_dns(url: str) -> None:
    with pytest.raises(EgressDenied, match=r"public internet address.*PIXELMILL_WEBHOOK_ALLOW_PRIVATE"):
        check_url(url, allow_private=False, resolve=no_dns)
    check_url(url, allow_private=True, resolve=no_dns)  # the operator's opt-in allows them


@pytest.mark.parametrize("url", UNPARSEABLE_URLS)
def test_urls_the_transport_cannot_parse_are_refused(url: str) -> None:
    for allow_private in (False, True):
        with pytest.raises(EgressDenied, match="not a valid URL"):
            check_url(url, allow_private=allow_private, resolve=no_dns)


@pytest.mark.parametrize("url", PUBLIC_URLS)
def test_public_literals_and_names_pass_without_dns(url: str) -> None:
    check_url(url, allow_private=False, resolve=None)


def test_names_are_checked_against_every_resolved_address() -> None:
    url = "https://hooks.example.com/x"
    check_url(url, allow_private=False, resolve=resolves_to("93.184.216.34", "2606:4700:4700::1111"))
    for answer in (("127.0.0.1",), ("93.184.216.34", "10.0.0.7"), ("::1",), ("169.254.169.254",)):
        with pytest.raises(EgressDenied, match=re.escape(f"resolves to {answer[-1]}")):
            check_url(url, allow_private=False, resolve=resolves_to(*answer))
    check_url(url, allow_private=True, resolve=no_dns)


def test_resolver_errors_propagate_as_network_failures() -> None:
    def broken(*args: Any) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(socket.gaierror):
        check_url("http://hooks.example.com/", allow_private=False, resolve=broken)


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIXELMILL_WEBHOOK_ALLOW_PRIVATE", raising=False)
    assert Settings.from_env().webhook_allow_private is False
    for value, expected in (("1", True), ("true", True), ("0", False), ("", False)):
        monkeypatch.setenv("PIXELMILL_WEBHOOK_ALLOW_PRIVATE", value)
        assert Settings.from_env().webhook_allow_private is expected


# --- over HTTP -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def prefilter(tmp_path_factory: pytest.TempPathFactory) -> PreFilter:
    rules = tmp_path_factory.mktemp("rules") / "safety_rules.txt"
    rules.write_text("zzforbiddenzz\tviolence_gore\n")
    return PreFilter.default(embedding=False, rules_path=rules)


@pytest.fixture
def api(tmp_path: Path, prefilter: PreFilter) -> Iterator[Api]:
    """The embedded gateway with the default policy: private webhook targets refused."""
    yield from make_api(tmp_path, prefilter)


def test_submit_refuses_private_webhook_urls(api: Api) -> None:
    assert api.gw.webhooks.allow_private is False
    alice = api.user()
    for url in PRIVATE_URLS + UNPARSEABLE_URLS:
        r = api.imagine(alice, "a cat", webhook_url=url)
        assert r.status_code == 400, url
        error = error_of(r)
        assert error["code"] == "invalid_webhook_url", url
        if url in PRIVATE_URLS:
            assert "public internet address" in error["message"]
            assert "PIXELMILL_WEBHOOK_ALLOW_PRIVATE" in error["message"]
    assert api.client.get("/v1/me/jobs", headers=alice).json()["jobs"] == []  # nothing was queued


def test_submit_accepts_public_literals_and_hostnames(api: Api) -> None:
    alice = api.user()
    for url in ("http://93.184.216.34/hook", "https://hooks.example.com/pixelmill"):
        r = api.imagine(alice, "a cat", webhook_url=url)
        assert r.status_code == 202, r.text


def test_follow_up_actions_refuse_private_webhook_urls(api: Api) -> None:
    alice = api.user()
    job = api.imagine(alice, "a cat").json()["id"]
    api.finish(job)
    r = api.client.post(f"/v1/jobs/{job}/actions", headers=alice,
                        json={"action": "reroll", "webhook_url": "http://[::ffff:169.254.169.254]/"})
    assert r.status_code == 400 and error_of(r)["code"] == "invalid_webhook_url"
    r = api.client.post(f"/v1/jobs/{job}/actions", headers=alice,
                        json={"action": "reroll", "webhook_url": "https://hooks.example.com/x"})
    assert r.status_code == 202, r.text
