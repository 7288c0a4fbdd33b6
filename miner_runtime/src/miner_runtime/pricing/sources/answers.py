"""What both adapters parse answers with: lenient frozen models and UTC timestamps."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict


def as_utc(value: dt.datetime) -> dt.datetime:
    """Aware UTC; a time without an offset (ESPN writes "2024-10-23T00:00Z" or none) is UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


UtcDatetime = Annotated[dt.datetime, AfterValidator(as_utc)]


class Answer(BaseModel):
    """A source's answer: fields we do not read are ignored (the APIs grow)."""

    model_config = ConfigDict(frozen=True, extra="ignore")
