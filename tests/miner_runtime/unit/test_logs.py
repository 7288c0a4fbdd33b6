"""Log plumbing: our loggers survive bittensor's import-time silencing."""

from __future__ import annotations


def test_importing_bittensor_does_not_silence_the_runtime_for_good() -> None:
    import logging
    import subprocess
    import sys

    # A fresh interpreter: a logger of ours exists before bittensor is imported.
    code = (
        "import logging\n"
        "early = logging.getLogger('miner_runtime.early')\n"
        "import bittensor\n"
        "assert early.getEffectiveLevel() == logging.CRITICAL\n"
        "from miner_runtime.logs import configure_logging\n"
        "configure_logging()\n"
        "print(early.getEffectiveLevel())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == str(logging.INFO)
