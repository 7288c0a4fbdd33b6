"""The engine behind a real bittensor 10.1.0 Axon, in the validator's request order.

Pipeline (docs/validator-facts.md, "Request pipeline"), outermost first:

1. `GateMiddleware`, added to `axon.app` after the Axon is built, so that Starlette puts
   it outside bittensor's `AxonMiddleware`: the engine's front gate on path and headers,
   answering its 403/429 itself (429 with `Retry-After`) or passing the request on.
2. bittensor's own `AxonMiddleware`: header parsing, then signature, nonce and body-hash
   verification (401/400, which the engine never counts), and a 404 for any path that is
   not a synapse name (`/health` included, as on a real validator).
3. The forward function: the engine's listener on the body's claims; its reply becomes
   the synapse payload of an HTTP 200.

`ValidatorAxon` also fixes two things of the stock Axon, for this Axon only: it binds the
host it is given instead of always 0.0.0.0, and (bittensor issue #3322) it stops building
the synapse's JSON schema on every response. Stock `Synapse.to_headers()` calls
`get_required_fields()`, which runs `model_json_schema()`, once per field of the synapse:
nine schema builds (about 15 ms) per reply for `SparketSynapse`, which caps a stock Axon at
about 30 requests/s on a 2-core machine. Upstream PR #3323 hoists the call out of the loop
(one build per reply); here the required fields are read once per synapse class.
"""

# No `from __future__ import annotations`: `Axon.attach` reads the forward function's first
# annotation at attach time and needs the real class, not a string.
import base64
import functools
import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import bittensor as bt
from bittensor.core.axon import AxonMiddleware, FastAPIThreadedServer
from bittensor.core.errors import PostProcessException
from bittensor.core.synapse import TerminalInfo
from fastapi.responses import JSONResponse
from fastapi.routing import serialize_response
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from sparket_local_validator.decisions import Allow
from sparket_local_validator.guarded import GuardedEngine
from sparket_local_validator.synapse import SparketSynapse

# Response headers ------------------------------------------------------------------------


def required_fields(synapse_class: Any) -> frozenset[str]:
    """What `Synapse.get_required_fields()` returns, computed once per class."""
    return _required_fields(synapse_class)


@functools.cache
def _required_fields(synapse_class: Any) -> frozenset[str]:
    schema = synapse_class.model_json_schema()
    return frozenset(schema.get("required", []))


def synapse_headers(synapse: Any) -> dict[str, str]:
    """bittensor 10.1.0 `Synapse.to_headers()`, reading the required fields from the cache.

    Same keys, values and order (a test compares the two); only the schema build is gone.
    """
    headers = {"name": synapse.name, "timeout": str(synapse.timeout)}
    for prefix, terminal in (("axon", synapse.axon), ("dendrite", synapse.dendrite)):
        if terminal:
            headers.update(
                {
                    f"bt_header_{prefix}_{key}": str(value)
                    for key, value in terminal.model_dump().items()
                    if value is not None
                }
            )
    required = required_fields(synapse.__class__)
    for field, value in synapse.model_dump().items():
        if field in headers or value is None or field not in required:
            continue
        # As upstream: an empty instance of the value's type, so the receiver's header
        # parsing passes pydantic validation; the real value travels in the body.
        try:
            empty = json.dumps(value.__class__.__call__())
        except TypeError as exc:
            raise ValueError(f"Error serializing {field}: not json serializable") from exc
        headers[f"bt_header_input_obj_{field}"] = base64.b64encode(empty.encode()).decode()
    headers["header_size"] = str(sys.getsizeof(headers))
    headers["total_size"] = str(synapse.get_total_size())
    headers["computed_body_hash"] = synapse.body_hash
    return headers


class CachedHeadersMiddleware(AxonMiddleware):  # type: ignore[misc]  # untyped bittensor
    """`AxonMiddleware` whose reply step builds headers with `synapse_headers`.

    Only `synapse_to_response` is replaced: the attached endpoints call it through
    `axon.middleware_cls`, so assigning this class there changes one Axon's replies.
    """

    @classmethod
    async def synapse_to_response(
        cls, synapse: Any, start_time: float, *, response_override: Response | None = None
    ) -> Response:
        """bittensor 10.1.0's version, line for line, except for the headers."""
        if synapse.axon is None:
            synapse.axon = TerminalInfo()
        if synapse.axon.status_code is None:
            synapse.axon.status_code = 200
        if synapse.axon.status_code == 200 and not synapse.axon.status_message:
            synapse.axon.status_message = "Success"
        synapse.axon.process_time = time.time() - start_time
        if response_override is not None:
            response = response_override
        else:
            content = await serialize_response(response_content=synapse)
            response = JSONResponse(status_code=synapse.axon.status_code, content=content)
        try:
            headers = synapse_headers(synapse)
        except ValueError as exc:
            raise PostProcessException(
                f"Error while parsing response headers. Postprocess exception: {exc}.",
                synapse=synapse,
            ) from exc
        response.headers.update(headers)
        return response


# The gate --------------------------------------------------------------------------------


class GateMiddleware:
    """ASGI middleware running the engine's front gate before anything of bittensor's."""

    def __init__(self, app: ASGIApp, guarded: GuardedEngine) -> None:
        self.app = app
        self.guarded = guarded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        client = scope.get("client")
        peer = client[0] if client else None
        decision = self.guarded.admit(scope["path"], headers, peer)
        if isinstance(decision, Allow):
            await self.app(scope, receive, send)
            return
        response = JSONResponse(
            decision.body(), status_code=decision.status, headers=decision.headers()
        )
        await response(scope, receive, send)


# The forward function ----------------------------------------------------------------------


def make_forward(guarded: GuardedEngine) -> Callable[[SparketSynapse], SparketSynapse]:
    """The validator's forward: the listener's reply replaces the payload (always 200)."""

    def forward(synapse: SparketSynapse) -> SparketSynapse:
        dendrite = synapse.dendrite
        synapse.payload = guarded.handle(
            hotkey=dendrite.hotkey if dendrite is not None else None,
            ip=dendrite.ip if dendrite is not None else None,
            synapse_type=synapse.type,
            payload=synapse.payload,
        )
        return synapse

    return forward


# The Axon ---------------------------------------------------------------------------------


class _JoinableServer(FastAPIThreadedServer):  # type: ignore[misc]  # untyped bittensor
    """The stock threaded uvicorn server, minus its 1 ms polling thread, with a `stop` that
    waits until the socket is closed, so that a restart can bind the same port again
    (stock `stop` only raises a flag)."""

    is_running: bool = False

    def start(self) -> None:
        if not self.is_running:
            self.should_exit = False
            self._thread = threading.Thread(target=self.run, name="validator-axon", daemon=True)
            self._thread.start()
            self.is_running = True

    def stop(self, timeout: float = 30.0) -> None:
        if self.is_running:
            self.should_exit = True
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError(f"the axon server did not stop within {timeout:.0f} s")
            self.is_running = False


class AxonWallet:
    """What `bt.Axon` needs of a wallet: `hotkey` (signs replies) and `coldkeypub`."""

    def __init__(self, hotkey: Any, coldkeypub: Any | None = None) -> None:
        self.hotkey = hotkey
        self.coldkeypub = coldkeypub if coldkeypub is not None else hotkey


class ValidatorAxon(bt.Axon):  # type: ignore[misc]  # bittensor ships no type hints
    """A stock Axon with the gate and forward attached, bound to `host` only."""

    def __init__(
        self,
        guarded: GuardedEngine,
        *,
        wallet: Any,
        host: str,
        port: int,
        external_ip: str,
        external_port: int | None = None,
        cache_response_headers: bool = True,
    ) -> None:
        super().__init__(
            wallet=wallet,
            port=port,
            ip=host,
            external_ip=external_ip,
            external_port=external_port,
        )
        self.fast_config.host = host
        self.fast_server = _JoinableServer(config=self.fast_config)
        if cache_response_headers:
            self.middleware_cls = CachedHeadersMiddleware
        self.attach(forward_fn=make_forward(guarded))
        # Added last, so outermost: Starlette inserts each new middleware at the front.
        self.app.add_middleware(GateMiddleware, guarded=guarded)

    @property
    def serving(self) -> bool:
        """True once uvicorn has bound the socket and accepts connections."""
        return bool(self.fast_server.started)
