"""The request guard on its own, with requests made in memory: which host names, origins,
tokens and paths pass, and that a refusal is a short plain answer."""

from __future__ import annotations

import pytest

pytest.importorskip("textual_serve", reason="textual-serve is not installed: gradtui[serve]")

from aiohttp.test_utils import make_mocked_request
from hypothesis import given
from hypothesis import strategies as st

from gradtui.serve.guard import MAX_PATH, Guard, origin_of

PORT = 8123


def request(path: str = "/", host: str = f"127.0.0.1:{PORT}", **headers: str):
    return make_mocked_request("GET", path, headers={"Host": host, **headers})


def status(guard: Guard, req) -> int:
    refused = guard.refusal(req)
    return 200 if refused is None else refused.status


@pytest.fixture
def guard() -> Guard:
    return Guard("127.0.0.1", PORT)


def test_the_token_opens_the_page_and_its_absence_does_not(guard: Guard):
    assert status(guard, request(f"/?token={guard.token}")) == 200
    assert status(guard, request("/")) == 403
    assert status(guard, request("/?token=guessed")) == 403
    assert status(guard, request("/", Cookie=f"{guard.cookie}={guard.token}")) == 200
    assert status(guard, request("/static/js/textual.js")) == 200  # the same for everyone
    assert Guard("127.0.0.1", PORT).token != guard.token  # one per server


@pytest.mark.parametrize("host", ["evil.example", f"evil.example:{PORT}", "127.0.0.2.nip.io", ""])
def test_a_host_name_that_is_not_ours_is_refused_even_with_the_token(guard: Guard, host: str):
    assert status(guard, request(f"/?token={guard.token}", host=host)) == 403


@pytest.mark.parametrize("host", [f"localhost:{PORT}", "127.0.0.1:9999", f"[::1]:{PORT}"])
def test_loopback_names_on_any_port_pass_for_a_loopback_server(guard: Guard, host: str):
    """An SSH tunnel may map the port to another; the name still says this machine."""
    assert status(guard, request(f"/?token={guard.token}", host=host)) == 200


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        (f"http://127.0.0.1:{PORT}", 200),  # the server's own page
        ("http://evil.example", 403),
        ("http://127.0.0.1:9999", 403),  # another page on this machine: same site, not origin
        ("null", 403),  # a sandboxed frame or a file:// page
        (f"https://127.0.0.1:{PORT}", 403),
    ],
)
def test_a_websocket_from_another_origin_is_refused_even_with_the_token(guard, origin, expected):
    req = request(f"/ws?token={guard.token}", Origin=origin)
    assert status(guard, req) == expected


def test_allow_origin_lets_a_proxy_and_its_host_name_in():
    guard = Guard("127.0.0.1", PORT, ["https://Proxy.Example:8443"])
    req = request(f"/ws?token={guard.token}", host="proxy.example:8443")
    assert status(guard, req) == 200
    req = request(f"/ws?token={guard.token}", Origin="https://proxy.example:8443")
    assert status(guard, req) == 200
    req = request(f"/ws?token={guard.token}", Origin="https://proxy.example")  # another port
    assert status(guard, req) == 403


def test_long_paths_are_414_or_404_never_a_file_system_error(guard: Guard):
    assert status(guard, request("/static/" + "a" * 8000)) == 414
    assert status(guard, request("/static/" + "a" * 300)) == 404
    assert status(guard, request("/static/" + "a/" * (MAX_PATH // 2))) == 414


def test_a_server_on_every_address_takes_addresses_but_not_foreign_names():
    guard = Guard("0.0.0.0", PORT)
    assert status(guard, request(f"/?token={guard.token}", host="10.1.2.3:8123")) == 200
    assert status(guard, request(f"/?token={guard.token}", host="localhost")) == 200
    assert status(guard, request(f"/?token={guard.token}", host="evil.example")) == 403


@pytest.mark.parametrize("bad", ["proxy.example", "ftp://proxy.example", "null", "https://"])
def test_an_allow_origin_that_is_not_an_origin_is_named(bad: str):
    with pytest.raises(ValueError, match="is not an origin"):
        origin_of(bad)


@given(st.text(max_size=300))
def test_any_host_header_is_a_yes_or_no_never_an_error(host: str):
    guard = Guard("127.0.0.1", PORT)
    assert guard.host_allowed(host) in (True, False)


@given(st.text(max_size=200))
def test_any_origin_header_is_a_yes_or_no_never_an_error(origin: str):
    guard = Guard("127.0.0.1", PORT)
    try:
        req = request("/ws", Origin=origin)
    except ValueError:  # a header aiohttp itself will not carry
        return
    assert guard.origin_allowed(req) in (True, False)
