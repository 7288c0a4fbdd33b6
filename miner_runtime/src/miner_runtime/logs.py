"""JSON log lines named after the reference miner's events (docs/protocol.md §5).

Each line is one JSON object: `{"ts", "level", "logger", "event", ...fields}`. Event names
match the reference miner's (`base_miner_odds_cycle`, `fetch_game_data`,
`miner_validator_endpoint_updated`, `submit_odds_rejected`, `validator_backoff`, ...), so
existing dashboards and greps keep working. Tokens and keys are never passed as fields.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import Any

_FIELDS = "sparket_fields"


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log `event` with structured fields (kept out of the message text)."""
    logger.log(level, event, extra={_FIELDS: fields})


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        line.update(getattr(record, _FIELDS, {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, sort_keys=False)


def reclaim_loggers() -> None:
    """Undo bittensor's import-time silencing of our loggers.

    Importing bittensor sets every logger that already exists to CRITICAL (its "default"
    logging state), so a module of ours imported before bittensor would never log again.
    Our loggers take their level from the root, as configured here.
    """
    for name, logger in logging.root.manager.loggerDict.items():
        if name.split(".")[0] == "miner_runtime" and isinstance(logger, logging.Logger):
            logger.setLevel(logging.NOTSET)


def configure_logging(level: int = logging.INFO) -> None:
    """Route the runtime's and bittensor's stdlib logs to stdout as JSON lines."""
    reclaim_loggers()
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
