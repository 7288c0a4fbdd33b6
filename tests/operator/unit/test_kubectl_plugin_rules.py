"""The kubectl plugin's pure rules: names, node ports, redaction, the status screen, and
what a wallet directory yields (files only, no cluster)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bittensor_wallet import Keypair, Wallet

from kubectl_sparket.cli import _parser
from kubectl_sparket.report import REDACTED, redact
from kubectl_sparket.status_view import render
from kubectl_sparket.wallet_import import allocate_node_ports, dns_name, read_wallet
from sparket_operator.api.fleet_summary import EgressUse, FailingValidator, FleetSummary


def test_names_are_dns_labels_short_enough_for_the_operators_suffixes() -> None:
    assert dns_name("My_Wallet", "Hot.Key 1") == "my-wallet-hot-key-1"
    assert len(dns_name("w" * 40, "h" * 40)) == 50
    assert dns_name("__", "..") == "miner"


def test_node_ports_keep_the_current_ones_and_fill_the_lowest_free() -> None:
    ports = allocate_node_ports(
        ["a", "b", "c", "d"], kept={"b": 30100}, used={30101, 30103}, first=30100
    )
    assert ports == {"a": 30102, "b": 30100, "c": 30104, "d": 30105}
    with pytest.raises(ValueError, match="no free node port"):
        allocate_node_ports(["x"], kept={}, used={32767}, first=32767)


def test_redaction_blanks_credentials_and_keeps_references() -> None:
    document = {
        "data": {"redis_password": "p", "token": "t", "note": "fine", "passphrase": "x"},
        "spec": {"hotkey": "5Pub", "wallet": {"secretName": "w-wallet"}},
        "env": [
            {"name": "X", "value": '{"secretPhrase": "a b c"}'},
            {"name": "REDIS_PASSWORD", "value": "hunter2"},
            {"name": "URL", "value": "redis://miner:hunter2@redis:6379/0"},
            {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "s", "key": "password"}}},
        ],
        "volumes": [{"secret": {"secretName": "w", "items": [{"key": "hotkey", "path": "h"}]}}],
        "automountServiceAccountToken": False,
        "empty_password": "",
    }
    assert redact(document) == {
        "data": {
            "redis_password": REDACTED,
            "token": REDACTED,
            "note": "fine",
            "passphrase": REDACTED,
        },
        "spec": {"hotkey": "5Pub", "wallet": {"secretName": "w-wallet"}},
        "env": [
            {"name": "X", "value": REDACTED},
            {"name": "REDIS_PASSWORD", "value": REDACTED},
            {"name": "URL", "value": f"redis://miner:{REDACTED}@redis:6379/0"},
            {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "s", "key": "password"}}},
        ],
        "volumes": [{"secret": {"secretName": "w", "items": [{"key": "hotkey", "path": "h"}]}}],
        "automountServiceAccountToken": False,
        "empty_password": "",
    }


SUMMARY = FleetSummary(
    namespace="sparket",
    miners=2,
    ready=2,
    by_phase={"Running": 1, "Degraded": 1},
    registered=1,
    deregistered=["m2"],
    earning=1,
    not_earning=[],
    emission_alpha_per_day=0.4,
    immunity_ending=[],
    failing_validators=[FailingValidator(validator="5HGjWAeF", miners=1, reasons={"banned": 1})],
    egress_ips=[EgressUse(ip="203.0.113.10", hotkeys=2, miners=["m1", "m2"])],
)
MINERS = [
    {
        "metadata": {"name": "m1"},
        "status": {
            "phase": "Running",
            "uid": 4,
            "conditions": [{"type": "Ready", "status": "True"}],
            "chain": {"incentive": 0.02, "emissionAlphaPerDay": 0.4},
        },
    },
    {"metadata": {"name": "m2"}, "status": {"phase": "Degraded"}},
]


def test_the_status_screen_without_colour() -> None:
    screen = render(SUMMARY, MINERS, colour=False)
    lines = screen.splitlines()
    assert (
        lines[0] == "Fleet sparket: 2 miners, 2 Ready, 1 registered, 1 earning, 0.400000 alpha/day"
    )
    assert "  egress 203.0.113.10: 2 hotkeys (m1, m2)" in lines
    assert "  deregistered: m2" in lines
    assert "  validator 5HGjWAeF: 1 miners held (banned x1)" in lines
    assert lines[-2].split() == [
        "m1", "Running", "True", "4", "0.020000", "0.400000", "-", "-", "-", "-",
    ]  # fmt: skip
    assert "\033[" not in screen


def test_the_status_screen_colours_good_and_bad_on_a_terminal() -> None:
    screen = render(SUMMARY, MINERS, colour=True)
    assert "\033[32mRunning\033[0m" in screen and "\033[31mderegistered: m2\033[0m" in screen


def _wallet(root: Path, name: str, hotkeys: list[str]) -> dict[str, str]:
    Wallet(name=name, path=str(root)).set_coldkeypub(
        Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
    )
    made = {}
    for hotkey in hotkeys:
        keypair = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
        Wallet(name=name, hotkey=hotkey, path=str(root)).set_hotkey(keypair, overwrite=True)
        made[hotkey] = keypair.ss58_address
    return made


def test_a_wallet_yields_its_hotkeys_and_a_hotkey_run_elsewhere_is_refused(tmp_path: Path) -> None:
    keys = _wallet(tmp_path, "w", ["a", "b"])
    plan = read_wallet(tmp_path, "w", None, taken={keys["b"]: "other-ns/elsewhere"})
    assert [(h.name, h.ss58, h.miner) for h in plan.accepted] == [("a", keys["a"], "w-a")]
    assert plan.refused == [
        f"hotkey w/b: {keys['b'][:5]}…{keys['b'][-4:]} is already run by SparketMiner "
        "other-ns/elsewhere"
    ]


def test_a_hotkey_already_imported_under_its_own_name_is_accepted_again(tmp_path: Path) -> None:
    keys = _wallet(tmp_path, "w", ["a"])
    plan = read_wallet(tmp_path, "w", None, taken={keys["a"]: "w-a"})
    assert [h.miner for h in plan.accepted] == ["w-a"] and plan.refused == []


def test_a_private_coldkeypub_refuses_every_hotkey(tmp_path: Path) -> None:
    _wallet(tmp_path, "w", ["a"])
    (tmp_path / "w" / "coldkeypub.txt").write_text(json.dumps({"secretSeed": "0x00"}))
    plan = read_wallet(tmp_path, "w", None, taken={})
    assert plan.accepted == []
    assert plan.refused[0].startswith("hotkey w/a: refused (ColdkeyPresent)")


def test_a_public_key_file_in_place_of_a_hotkey_is_refused(tmp_path: Path) -> None:
    keys = _wallet(tmp_path, "w", ["a"])
    (tmp_path / "w" / "hotkeys" / "a").write_text(json.dumps({"ss58Address": keys["a"]}))
    plan = read_wallet(tmp_path, "w", None, taken={})
    assert plan.refused[0].startswith("hotkey w/a: refused (HotkeyUnreadable)")


def test_connection_flags_go_before_or_after_the_command() -> None:
    assert _parser().parse_args(["status", "-n", "after"]).namespace == "after"
    assert _parser().parse_args(["-n", "before", "status"]).namespace == "before"
    both = _parser().parse_args(["--context", "c", "pause", "-l", "x=y", "-n", "ns"])
    assert (both.context, both.namespace, both.selector) == ("c", "ns", "x=y")
    assert _parser().parse_args(["report"]).namespace is None
