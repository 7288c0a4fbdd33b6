"""The SparketMiner API, version v1alpha1: spec, status, phases and condition types.

These models are the single source of truth. `api.crdgen` turns them into the CRD's
OpenAPI schema (with the CEL rules attached here), the API server enforces that schema at
admission, and the operator parses what it reads with the same models. Field names are
camelCase on the wire (Kubernetes convention) and snake_case in Python.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

GROUP = "sparket.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "SparketMiner"
PLURAL = "sparketminers"
SINGULAR = "sparketminer"
SHORT_NAMES = ("smn",)
CATEGORIES = ("sparket",)

SS58_PATTERN = r"^[1-9A-HJ-NP-Za-km-z]{46,48}$"
DNS_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
KEYFILE_NAME_PATTERN = r"^[A-Za-z0-9_.-]+$"
QUANTITY_PATTERN = r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$"
IMAGE_PATTERN = r"^[^\s]+$"
LABEL_VALUE_PATTERN = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
# A label key is an optional DNS-subdomain prefix (<= 253) and "/" plus a name (<= 63).
LABEL_KEY_MAX_LENGTH = 253 + 1 + 63

NODE_PORT_MIN = 30000
NODE_PORT_MAX = 32767

# Annotations a user sets on a SparketMiner (`kubectl annotate`): any new value of
# restartedAt restarts the pod; paused "true" scales it to zero like spec.paused.
RESTART_ANNOTATION = f"{GROUP}/restartedAt"
PAUSED_ANNOTATION = f"{GROUP}/paused"


def _rules(*rules: tuple[str, str] | tuple[str, str, str]) -> dict[str, Any]:
    """CEL rules (rule, message[, fieldPath]) as the schema extension the API server evaluates
    at admission. fieldPath (relative, e.g. ".nodePort") names the field in the error."""
    keys = ("rule", "message", "fieldPath")
    return {"x-kubernetes-validations": [dict(zip(keys, r, strict=False)) for r in rules]}


def _immutable(field: str) -> dict[str, Any]:
    return _rules(("self == oldSelf", f"{field} is immutable; create a new SparketMiner"))


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        use_enum_values=False,
    )


class League(StrEnum):
    """The subnet's league codes (docs/protocol.md §2b)."""

    NFL = "nfl"
    NBA = "nba"
    MLB = "mlb"
    NHL = "nhl"
    EPL = "epl"
    UCL = "ucl"
    UEL = "uel"
    ESP = "esp"
    DEB = "deb"
    ITSA = "itsa"
    FRL1 = "frl1"
    MLS = "mls"
    NLE = "nle"


class Exposure(StrEnum):
    NODE_PORT = "NodePort"
    LOAD_BALANCER = "LoadBalancer"


class Phase(StrEnum):
    """One word for `kubectl get`: where the miner is in its life."""

    PENDING = "Pending"  # waiting on something outside the spec (Secret, endpoint, rollout slot)
    INVALID = "Invalid"  # the user must act: bad wallet, coldkey, duplicate hotkey or endpoint
    PAUSED = "Paused"
    STARTING = "Starting"  # the workload exists; the pod is not Ready yet
    RUNNING = "Running"
    DEGRADED = "Degraded"  # the pod is Ready but the runtime reports trouble


class ConditionType(StrEnum):
    READY = "Ready"
    WALLET_VALID = "WalletValid"
    HOTKEY_UNIQUE = "HotkeyUnique"
    EXPOSED = "Exposed"
    SCHEDULED = "Scheduled"
    AVAILABLE = "Available"
    VALIDATORS_CONNECTED = "ValidatorsConnected"
    SUBMITTING = "Submitting"
    THROTTLED = "Throttled"
    UP_TO_DATE = "UpToDate"  # the pod runs the current spec (False while a rollout waits)
    REGISTERED = "Registered"  # the hotkey holds a uid on the subnet (False: deregistered)
    EARNING = "Earning"  # incentive above 0 (False: none past the grace period)


class WalletRef(_Model):
    """The Secret holding the hotkey only: keys `hotkey` and `coldkeypub.txt`."""

    model_config = ConfigDict(json_schema_extra=_immutable("spec.wallet"))

    secret_name: str = Field(max_length=253, pattern=DNS_SUBDOMAIN_PATTERN)
    wallet_name: str = Field(default="default", max_length=64, pattern=KEYFILE_NAME_PATTERN)
    hotkey_name: str = Field(default="default", max_length=64, pattern=KEYFILE_NAME_PATTERN)


class NetworkSpec(_Model):
    """Which chain and subnet. `subtensor` is a network name or a ws(s):// endpoint."""

    subtensor: str = Field(
        default="finney", max_length=256, pattern=r"^(finney|test|local|mock|wss?://[^\s]+)$"
    )
    netuid: int = Field(default=57, ge=0, le=65535)


class AxonSpec(_Model):
    """How validators reach this miner's axon."""

    model_config = ConfigDict(
        json_schema_extra=_rules(
            (
                "!has(self.nodePort) || self.exposure == 'NodePort'",
                "spec.axon.nodePort may only be set when spec.axon.exposure is NodePort",
                ".nodePort",
            ),
        )
    )

    port: int = Field(default=8094, ge=1024, le=65535)
    exposure: Exposure = Exposure.NODE_PORT
    node_port: int | None = Field(default=None, ge=NODE_PORT_MIN, le=NODE_PORT_MAX)
    # Advertise this IP instead of the node's ExternalIP (NodePort) or the LB ingress.
    external_ip: str | None = Field(
        default=None,
        alias="externalIP",
        max_length=45,
        json_schema_extra=_rules(
            (
                "isIP(self) && ip(self).isGlobalUnicast()",
                "spec.axon.externalIP must be a unicast IP",
            )
        ),
    )


class ModelSpec(_Model):
    """A pricing model image run as a sidecar; empty means the built-in engine."""

    image: str | None = Field(default=None, max_length=512, pattern=IMAGE_PATTERN)
    port: int = Field(default=8080, ge=1024, le=65535)


class CadenceSpec(_Model):
    odds_refresh_seconds: int = Field(default=900, ge=60, le=86400)
    outcome_check_seconds: int = Field(default=300, ge=30, le=86400)
    jitter_seconds: int = Field(default=30, ge=0, le=3600)


class ResourceAmounts(_Model):
    cpu: str | None = Field(default=None, max_length=32, pattern=QUANTITY_PATTERN)
    memory: str | None = Field(default=None, max_length=32, pattern=QUANTITY_PATTERN)


class ResourcesSpec(_Model):
    requests: ResourceAmounts = ResourceAmounts(cpu="250m", memory="384Mi")
    limits: ResourceAmounts = ResourceAmounts(memory="768Mi")


class PlacementSpec(_Model):
    """Where the pod runs. The first node a miner lands on is kept (status.node) so its
    advertised IP never changes across restarts; `nodeName` pins it explicitly."""

    node_name: str | None = Field(default=None, max_length=253, pattern=DNS_SUBDOMAIN_PATTERN)
    node_selector: Annotated[
        dict[
            Annotated[str, Field(min_length=1, max_length=LABEL_KEY_MAX_LENGTH)],
            Annotated[str, Field(max_length=63, pattern=LABEL_VALUE_PATTERN)],
        ],
        Field(max_length=16),
    ] = {}


class StorageSpec(_Model):
    """The runtime's database and state, on a PersistentVolumeClaim."""

    model_config = ConfigDict(json_schema_extra=_immutable("spec.storage"))

    size: str = Field(default="1Gi", max_length=32, pattern=QUANTITY_PATTERN)
    storage_class_name: str | None = Field(
        default=None, max_length=253, pattern=DNS_SUBDOMAIN_PATTERN
    )


class SparketMinerSpec(_Model):
    """What the user asks for: one hotkey mining the Sparket subnet, and how to run it."""

    hotkey: str = Field(
        min_length=46,
        max_length=48,
        pattern=SS58_PATTERN,
        json_schema_extra=_immutable("spec.hotkey"),
    )
    wallet: WalletRef
    network: NetworkSpec = NetworkSpec()
    axon: AxonSpec = AxonSpec()
    leagues: Annotated[list[League], Field(min_length=1, max_length=len(League))]
    model: ModelSpec = ModelSpec()
    cadence: CadenceSpec = CadenceSpec()
    batch_size: int = Field(default=50, ge=1, le=200)
    resources: ResourcesSpec = ResourcesSpec()
    placement: PlacementSpec = PlacementSpec()
    storage: StorageSpec = StorageSpec()
    # Runtime image; empty means the operator's default (its setting runtime_image).
    image: str | None = Field(default=None, max_length=512, pattern=IMAGE_PATTERN)
    paused: bool = False


class Condition(_Model):
    """A Kubernetes-style condition (metav1.Condition)."""

    model_config = ConfigDict(extra="ignore")

    type: ConditionType
    status: str = Field(pattern=r"^(True|False|Unknown)$")
    reason: str = Field(max_length=1024, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
    message: str = Field(default="", max_length=32768)
    last_transition_time: str
    observed_generation: int | None = Field(default=None, ge=0)


class ChainStanding(_Model):
    """The hotkey's standing on the subnet, as its runtime last read it from the chain."""

    model_config = ConfigDict(extra="ignore")

    uid: int | None = None
    incentive: float | None = None
    consensus: float | None = None
    emission_alpha_per_day: float | None = None
    stake: float | None = None
    registered_at_block: int | None = None
    immunity_blocks_left: int | None = None
    block: int | None = None
    read_at: str | None = None  # how old the standing is (the chain may be unreadable)
    deregistered_at: str | None = None
    deregistered_reason: str | None = None


class SparketMinerStatus(_Model):
    """What the operator observed. Written only when it changes."""

    model_config = ConfigDict(extra="ignore")  # an older operator's fields must not break us

    observed_generation: int | None = None
    phase: Phase | None = None
    # One entry per type (a map keyed on `type`), as `kubectl wait --for=condition=` expects.
    conditions: Annotated[
        list[Condition],
        Field(
            max_length=16,
            json_schema_extra={
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["type"],
            },
        ),
    ] = []
    hotkey: str | None = None
    hotkey_short: str | None = None
    uid: int | None = None
    node: str | None = None
    endpoint: str | None = None
    egress_ip: str | None = Field(default=None, alias="egressIP")
    validators_connected: int | None = None
    submitted_1h: int | None = Field(default=None, alias="submitted1h")
    rejected_1h: int | None = Field(default=None, alias="rejected1h")
    last_submission_time: str | None = None
    chain: ChainStanding | None = None
    # The hash of the pod template last applied: how the fleet rollout counts who is rolling.
    template_hash: str | None = None


class SparketMiner(_Model):
    """A whole object as read from the API server (metadata kept as a plain mapping)."""

    model_config = ConfigDict(extra="ignore")

    api_version: str = API_VERSION
    kind: str = KIND
    metadata: dict[str, Any]
    spec: SparketMinerSpec
    status: SparketMinerStatus = SparketMinerStatus()
