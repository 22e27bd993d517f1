"""Where the agent says its LAN chat page is (the gateway's "Use at home" page shows it)."""

from __future__ import annotations

import ipaddress

from aiclone_agent.core.config import LanSection
from aiclone_agent.gateway.lan_address import lan_url, primary_address


def test_the_advertised_address_wins_and_a_bound_host_is_used_as_it_is():
    assert (
        lan_url(LanSection(enabled=True, advertise_url="https://home.example:8443/"))
        == "https://home.example:8443"
    )
    assert lan_url(LanSection(enabled=True, host="192.168.1.20", port=3080)) == "http://192.168.1.20:3080"
    assert lan_url(LanSection(enabled=True, host="fd00::20", port=3080)) == "http://[fd00::20]:3080"


def test_no_address_while_the_listener_is_off():
    assert lan_url(LanSection(enabled=False, host="192.168.1.20")) is None


def test_every_interface_means_this_pc_s_own_network_address():
    found = primary_address()
    url = lan_url(LanSection(enabled=True, host="0.0.0.0", port=3080))
    if found is None:  # a machine without a network has no address to give
        assert url is None
    else:
        assert not ipaddress.ip_address(found).is_unspecified
        assert url == f"http://{found}:3080"
