"""Our standing on the subnet (issue 20): read from a real MockSubtensor through the file the
runtime watches, changed while it runs, including a deregistration; and the pure rules."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from miner_runtime.chain.client import ChainUnavailableError, MockChain, StandingTerms
from miner_runtime.chain.factory import chain_from_settings
from miner_runtime.chain.standing import (
    BLOCKS_PER_DAY,
    emission_per_day,
    read_standing,
    worth_logging,
)
from miner_runtime.chain.sync import ChainSync, build_snapshot
from miner_runtime.chain.watch import ChainWatch
from miner_runtime.settings import Settings
from miner_runtime.validator_client.selection import NeuronView

T0 = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)


def _write(path: Path, neurons: list[dict[str, Any]]) -> None:
    """Rewrite the file so its mtime or size surely changes (the watch compares both)."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(json.dumps(neurons))
    os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))


def _write_garbage(path: Path) -> None:
    path.write_text("[{not json")
    os.utime(path, ns=(1, 1))


@pytest.fixture
def neurons_file(tmp_path: Path) -> Path:
    return tmp_path / "neurons.json"


def _watch(file: Path, hotkey: str) -> ChainWatch:
    settings = Settings(subtensor={"network": "mock", "netuid": 57, "mock_neurons_file": file})
    chain = chain_from_settings(settings, hotkey, wallet=None)
    return ChainWatch(ChainSync(chain, own_hotkey=hotkey), advertised=("203.0.113.5", 30001))


async def test_standing_follows_the_chain_through_a_deregistration(
    neurons_file: Path, own_hotkey: str, keys: Callable[[str], str]
) -> None:
    us = {"hotkey": own_hotkey, "coldkey": keys("cold")}
    _write(neurons_file, [{**us, "incentive": 0.0, "emission": 0.0}])
    watch = _watch(neurons_file, own_hotkey)
    await watch.refresh()
    first = watch.standing
    assert first is not None and first.uid == 0 and first.incentive == 0.0
    assert first.registered_at_block is not None
    assert first.immunity_blocks_left is not None and first.immunity_blocks_left > 0

    # The next epoch pays us: incentive and emission move while the runtime runs.
    _write(neurons_file, [{**us, "incentive": 0.25, "consensus": 0.2, "emission": 0.5}])
    await watch.refresh()
    earning = watch.standing
    assert earning is not None and earning.uid == 0
    assert earning.incentive == pytest.approx(0.25, abs=1e-4)
    assert earning.consensus == pytest.approx(0.2, abs=1e-4)
    assert earning.emission_per_tempo == pytest.approx(0.5)
    terms = watch.sync._client.standing_terms(0)  # the mock's tempo, read as the runtime does
    assert earning.emission_per_day == pytest.approx(0.5 * BLOCKS_PER_DAY / (terms.tempo + 1))
    assert worth_logging(first, earning)
    assert watch.validators() == [] and watch.registered  # no validator listed, still ours

    # A new registration takes our uid: we are deregistered, and stay so on later reads.
    newcomer = keys("newcomer")
    _write(
        neurons_file,
        [us, {"hotkey": newcomer, "coldkey": keys("cold2"), "replaces": own_hotkey}],
    )
    await watch.refresh()
    gone = watch.standing
    assert gone is not None and not gone.registered and not watch.registered
    assert gone.deregistered_reason == f"uid 0 now held by {newcomer}"
    assert gone.deregistered_at is not None
    assert (gone.incentive, gone.emission_per_day) == (0.0, 0.0)
    await watch.refresh()
    assert watch.standing is not None
    assert watch.standing.deregistered_at == gone.deregistered_at  # the first read that saw it


async def test_an_unreadable_chain_keeps_the_last_standing(
    neurons_file: Path, own_hotkey: str, keys: Callable[[str], str]
) -> None:
    us = {"hotkey": own_hotkey, "coldkey": keys("cold"), "incentive": 0.1, "emission": 0.2}
    _write(neurons_file, [us])
    watch = _watch(neurons_file, own_hotkey)
    await watch.refresh()
    before = watch.standing
    _write_garbage(neurons_file)  # a node that answers garbage
    with pytest.raises(ChainUnavailableError):
        watch.sync._client.neurons()
    await watch.refresh()  # logged, not raised
    assert watch.standing == before  # not zeros: the last known standing, with its read_at


def test_a_replaced_hotkey_loses_its_uid_and_axon_on_the_mock_chain(
    chain: MockChain, own_hotkey: str, keys: Callable[[str], str]
) -> None:
    uid = chain.register(own_hotkey, keys("cold"), axon=("198.51.100.1", 30001))
    chain.set_standing(uid, incentive=0.5, consensus=0.5, emission=1.0)
    assert chain.replace(own_hotkey, keys("new"), keys("cold")) == uid
    assert chain.uid_of(own_hotkey) is None and chain.uid_of(keys("new")) == uid
    [neuron] = chain.neurons()
    assert (neuron.hotkey, neuron.port, neuron.incentive, neuron.emission) == (
        keys("new"),
        0,
        0.0,
        0.0,
    )


# --- the pure rules ----------------------------------------------------------------------


def _neuron(uid: int, hotkey: str, **standing: float) -> NeuronView:
    return NeuronView(
        uid=uid, hotkey=hotkey, validator_permit=False, ip="0.0.0.0", port=0, **standing
    )


def _snapshot(*neurons: NeuronView, block: int = 1000, at: dt.datetime = T0) -> Any:
    return build_snapshot(neurons, own_hotkey="5Us", block=block, synced_at=at)


def test_emission_per_day_counts_an_epoch_every_tempo_plus_one_blocks() -> None:
    assert emission_per_day(1.0, 359) == pytest.approx(20.0)  # 7,200 / 360 epochs a day
    assert emission_per_day(0.0, 99) == 0.0


def test_immunity_counts_down_to_zero_never_below() -> None:
    terms = StandingTerms(tempo=99, immunity_period=100, registered_at_block=950)
    inside = read_standing(_snapshot(_neuron(3, "5Us"), block=1000), terms, None)
    past = read_standing(_snapshot(_neuron(3, "5Us"), block=2000), terms, inside)
    assert (inside.immunity_blocks_left, past.immunity_blocks_left) == (50, 0)
    assert worth_logging(inside, past)  # immunity ended


def test_terms_not_read_mean_unknown_not_zero() -> None:
    standing = read_standing(_snapshot(_neuron(3, "5Us", emission=0.4)), None, None)
    assert standing.emission_per_tempo == 0.4
    assert standing.emission_per_day is None and standing.immunity_blocks_left is None


def test_never_registered_is_not_deregistered() -> None:
    standing = read_standing(_snapshot(_neuron(0, "5Other")), None, None)
    assert not standing.registered and not standing.deregistered


def test_a_read_without_our_old_uid_is_no_deregistration() -> None:
    """A node that cannot serve the subnet answers an empty (or short) list: not a verdict."""
    registered = read_standing(_snapshot(_neuron(2, "5Us", incentive=0.3)), None, None)
    for bad_read in (_snapshot(), _snapshot(_neuron(0, "5Other"))):
        kept = read_standing(bad_read, None, registered)
        assert kept == registered and not kept.deregistered


def test_registering_again_clears_the_deregistration() -> None:
    registered = read_standing(_snapshot(_neuron(2, "5Us")), None, None)
    gone = read_standing(_snapshot(_neuron(2, "5Other")), None, registered)
    back = read_standing(_snapshot(_neuron(2, "5Other"), _neuron(5, "5Us")), None, gone)
    assert gone.deregistered and back.uid == 5 and not back.deregistered


def test_small_moves_are_not_logged() -> None:
    a = read_standing(_snapshot(_neuron(2, "5Us", incentive=0.10001)), None, None)
    b = read_standing(_snapshot(_neuron(2, "5Us", incentive=0.10002)), None, a)
    assert not worth_logging(a, b)


async def test_a_replaced_hotkey_still_listed_stays_deregistered(
    neurons_file: Path, own_hotkey: str, keys: Callable[[str], str]
) -> None:
    """The file keeps listing us after the newcomer replaced us: we are not registered anew."""
    us = {"hotkey": own_hotkey, "coldkey": keys("cold")}
    _write(neurons_file, [us])
    watch = _watch(neurons_file, own_hotkey)
    await watch.refresh()
    newcomer = {"hotkey": keys("newcomer"), "coldkey": keys("cold2"), "replaces": own_hotkey}
    _write(neurons_file, [us, newcomer])
    for _ in range(2):  # and on every later read of the unchanged file
        await watch.refresh()
        assert watch.standing is not None and watch.standing.deregistered
    _write(neurons_file, [newcomer, us])  # the order does not matter either
    await watch.refresh()
    assert not watch.registered


class _CountingTerms(MockChain):
    """A MockChain that counts the terms reads that reached the chain."""

    def __init__(self, *, netuid: int, hotkey_ss58: str) -> None:
        super().__init__(netuid=netuid, hotkey_ss58=hotkey_ss58)
        self.terms_reads: list[int] = []

    def standing_terms(self, uid: int) -> StandingTerms:
        self.terms_reads.append(uid)
        return super().standing_terms(uid)


async def test_terms_are_read_once_per_uid_and_hourly_not_at_every_sync(
    chain: MockChain, own_hotkey: str, keys: Callable[[str], str]
) -> None:
    counting = _CountingTerms(netuid=57, hotkey_ss58=own_hotkey)
    uid = counting.register(own_hotkey, keys("cold"))
    now = [T0]
    watch = ChainWatch(
        ChainSync(counting, own_hotkey=own_hotkey, wall_clock=lambda: now[0]),
        advertised=("203.0.113.5", 30001),
    )
    for _ in range(3):
        await watch.refresh()
        now[0] += dt.timedelta(minutes=10)
    assert counting.terms_reads == [uid]
    assert watch.standing is not None and watch.standing.immunity_blocks_left is not None
    now[0] += dt.timedelta(hours=1)
    await watch.refresh()
    assert counting.terms_reads == [uid, uid]
