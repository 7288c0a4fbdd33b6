"""The `ChainClient` the settings ask for: a real subtensor, or a simulated subnet.

With `subtensor.network: mock` the runtime runs against bittensor's in-process
`MockSubtensor`. Its state lives in one process, so a runtime started as its own process
(demos, kill -9 tests) learns the simulated subnet from `subtensor.mock_neurons_file`: a
JSON list of neurons registered at start-up.

    [{"hotkey": "5F...", "coldkey": "5G...", "stake": 1000.0,
      "validator_permit": true, "ip": "127.0.0.1", "port": 30101,
      "incentive": 0.02, "consensus": 0.02, "emission": 0.41}]

`stake` (TAO), `validator_permit`, `ip` and `port` are optional; `ip` and `port` come
together (absent: the neuron serves no axon). `incentive` and `consensus` (0..1) and
`emission` (alpha per tempo) are the last epoch's result for the neuron. `replaces: "5H..."`
registers the neuron into that hotkey's uid, which is how a hotkey is deregistered on a full
subnet.

The file is read again whenever it changes (on the next chain sync), so a test or a demo can
move standings and deregister a hotkey while the runtime runs; a neuron no longer listed
stays as it was.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import bittensor as bt
from bittensor.utils import is_valid_ss58_address
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    ValidationError,
    field_validator,
    model_validator,
)

from miner_runtime.chain.client import (
    TRANSPORT_ERRORS,
    ChainClient,
    ChainUnavailableError,
    MockChain,
    SubtensorChain,
)
from miner_runtime.errors import ConfigError
from miner_runtime.settings import Settings

MOCK_NETWORK = "mock"
MOCK_NEURONS_SETTING = "subtensor.mock_neurons_file (SPARKET_SUBTENSOR__MOCK_NEURONS_FILE)"
MOCK_NEURONS_INLINE_SETTING = "subtensor.mock_neurons"


class MockNeuron(BaseModel):
    """One neuron of a simulated subnet."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hotkey: str
    coldkey: str
    stake: float = Field(default=0.0, ge=0.0, allow_inf_nan=False)  # TAO
    validator_permit: bool = False
    ip: str | None = None
    port: int | None = Field(default=None, ge=0, le=65535)
    incentive: float = Field(default=0.0, ge=0.0, le=1.0)
    consensus: float = Field(default=0.0, ge=0.0, le=1.0)
    emission: float = Field(default=0.0, ge=0.0, allow_inf_nan=False)  # alpha per tempo
    replaces: str | None = None  # the hotkey whose uid this registration takes

    @field_validator("hotkey", "coldkey", "replaces")
    @classmethod
    def _ss58(cls, value: str | None) -> str | None:
        if value is not None and not is_valid_ss58_address(value):
            raise ValueError("not an SS58 address")
        return value

    @field_validator("ip")
    @classmethod
    def _ip(cls, value: str | None) -> str | None:
        if value is not None:
            ipaddress.ip_address(value)  # raises ValueError: "not a valid IP address"
        return value

    @model_validator(mode="after")
    def _ip_with_port(self) -> MockNeuron:
        if (self.ip is None) != (self.port is None):
            raise ValueError("ip and port go together: give both or neither")
        return self

    @property
    def axon(self) -> tuple[str, int] | None:
        if self.ip is None or self.port is None:
            return None
        return (self.ip, self.port)


class MockNeurons(RootModel[list[MockNeuron]]):
    """The whole file: a list of neurons, each hotkey once."""

    @model_validator(mode="after")
    def _unique_hotkeys(self) -> MockNeurons:
        seen: set[str] = set()
        for neuron in self.root:
            if neuron.hotkey in seen:
                raise ValueError(f"hotkey {neuron.hotkey} is listed twice")
            seen.add(neuron.hotkey)
        return self


def _describe(error: Any) -> str:
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where.lstrip('.')}: {message}" if where else message


def _invalid(setting: str, where: str, exc: ValidationError) -> ConfigError:
    """One line: the setting, where in it, the first problem and how many more."""
    errors = exc.errors()
    extra = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    detail = " ".join(_describe(errors[0]).split())
    return ConfigError(f"invalid setting {setting}: {where}{detail}{extra}")


def parse_mock_neurons(raw: object) -> list[MockNeuron]:
    """The inline list (`subtensor.mock_neurons`), or `ConfigError` naming the entry."""
    try:
        return MockNeurons.model_validate(raw).root
    except ValidationError as exc:
        raise _invalid(MOCK_NEURONS_INLINE_SETTING, "", exc) from None


def load_mock_neurons(path: Path) -> list[MockNeuron]:
    """The neurons listed in `path`, or `ConfigError` with one line naming the setting."""
    path = path.expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"invalid setting {MOCK_NEURONS_SETTING}: cannot read {path}: {exc.strerror or exc}"
        ) from None
    try:
        return MockNeurons.model_validate_json(text).root
    except ValidationError as exc:
        raise _invalid(MOCK_NEURONS_SETTING, f"{path}: ", exc) from None


def seed_mock_chain(chain: MockChain, neurons: Iterable[MockNeuron]) -> list[int]:
    """Register every listed neuron not registered yet (into the uid of the hotkey it
    `replaces`, when that one is registered), and set every registered neuron's standing;
    the uids, in file order (a replaced hotkey has none)."""
    neurons = list(neurons)
    # A hotkey another entry replaces stays deregistered, even while it is still listed.
    replaced = {n.replaces for n in neurons if n.replaces}
    uids = []
    for neuron in neurons:
        uid = chain.uid_of(neuron.hotkey)
        if uid is None and neuron.replaces and chain.uid_of(neuron.replaces) is not None:
            uid = chain.replace(neuron.replaces, neuron.hotkey, neuron.coldkey)
            chain.set_validator_permit(uid, neuron.validator_permit)
            if neuron.axon is not None:
                chain.set_axon(neuron.hotkey, *neuron.axon)
        elif uid is None and neuron.hotkey in replaced:
            continue  # deregistered by the entry that replaces it
        elif uid is None:
            uid = chain.register(
                neuron.hotkey,
                neuron.coldkey,
                stake=neuron.stake,
                validator_permit=neuron.validator_permit,
                axon=neuron.axon,
            )
        chain.set_standing(
            uid, incentive=neuron.incentive, consensus=neuron.consensus, emission=neuron.emission
        )
        uids.append(uid)
    return uids


class NeuronsFileWatch:
    """Re-seeds the mock chain from `subtensor.mock_neurons_file` when the file changes.

    Called before each read of the neurons; a file that cannot be read or parsed now is
    a `ChainUnavailableError` (the runtime keeps its last snapshot), as a node that cannot
    be reached would be."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stamp = self._stat()  # what the start-up seed read

    def _stat(self) -> tuple[int, int] | None:
        try:
            stat = self._path.stat()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def __call__(self, chain: MockChain) -> None:
        stamp = self._stat()
        if stamp == self._stamp:
            return
        try:
            neurons = load_mock_neurons(self._path)
        except ConfigError as exc:
            raise ChainUnavailableError(f"the simulated chain: {exc}") from None
        seed_mock_chain(chain, neurons)
        self._stamp = stamp


def chain_from_settings(settings: Settings, hotkey_ss58: str, wallet: Any) -> ChainClient:
    """The chain for `settings.subtensor`; `wallet` signs serve_axon (unused by the mock).

    Connecting to a real network happens here and blocks; call it through
    `asyncio.to_thread` from async code.
    """
    subtensor = settings.subtensor
    if subtensor.network == MOCK_NETWORK:
        # Validate the whole list before touching the (process-global) mock chain.
        neurons = (
            load_mock_neurons(subtensor.mock_neurons_file)
            if subtensor.mock_neurons_file is not None
            else []
        ) + (
            parse_mock_neurons(subtensor.mock_neurons) if subtensor.mock_neurons is not None else []
        )
        watch = (
            NeuronsFileWatch(subtensor.mock_neurons_file)
            if subtensor.mock_neurons_file is not None
            else None
        )
        chain = MockChain(netuid=subtensor.netuid, hotkey_ss58=hotkey_ss58, before_read=watch)
        chain.create_subnet()
        seed_mock_chain(chain, neurons)
        return chain
    if subtensor.mock_neurons is not None:
        raise ConfigError(
            f"invalid setting {MOCK_NEURONS_INLINE_SETTING}: only used with subtensor.network "
            f"'{MOCK_NETWORK}', not '{subtensor.network}'"
        )
    if subtensor.mock_neurons_file is not None:
        raise ConfigError(
            f"invalid setting {MOCK_NEURONS_SETTING}: only used with subtensor.network "
            f"'{MOCK_NETWORK}', not '{subtensor.network}'"
        )
    try:
        real = bt.Subtensor(network=subtensor.chain_endpoint or subtensor.network)
    except TRANSPORT_ERRORS as exc:
        raise ChainUnavailableError(
            f"connecting to subtensor {subtensor.chain_endpoint or subtensor.network} failed: "
            f"{' '.join(str(exc).split())}"
        ) from exc
    return SubtensorChain(real, netuid=subtensor.netuid, wallet=wallet)
