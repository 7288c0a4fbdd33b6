"""bittensor's MockSubtensor keeps one process-global state: a test that needs a clean
chain starts from `MockSubtensor.reset()`, and whatever state existed before (a session
fixture's simulated subnet, say) is put back afterwards, so the test wipes nothing."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from bittensor.utils.mock import subtensor_mock
from bittensor.utils.mock.subtensor_mock import MockSubtensor


@contextlib.contextmanager
def isolated_mock_subtensor() -> Iterator[None]:
    shared = subtensor_mock.__GLOBAL_MOCK_STATE__  # every MockSubtensor's __dict__
    saved = dict(shared)
    MockSubtensor.reset()
    try:
        yield
    finally:
        shared.clear()
        shared.update(saved)
