"""Time and identifier sources, injectable so that tests freeze both."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Where the hub reads the current time."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)


class FrozenClock:
    """A clock for tests: starts at a fixed instant and moves only when told (or by ``step``)."""

    def __init__(self, start: datetime, step: timedelta = timedelta(0)) -> None:
        self.current = start
        self.step = step

    def now(self) -> datetime:
        """Return the frozen time, then advance it by ``step``."""
        value = self.current
        self.current += self.step
        return value

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward."""
        self.current += delta


class Ids(Protocol):
    """Where the hub gets new UUIDs."""

    def uuid4(self) -> uuid.UUID:
        """Return a new random-looking UUID."""
        ...


class RandomIds:
    """Real random UUIDs."""

    def uuid4(self) -> uuid.UUID:
        """Return a new random UUID."""
        return uuid.uuid4()


class SequentialIds:
    """Predictable UUIDs for tests: version-4 shaped, counting up from a seed."""

    def __init__(self, seed: int = 0) -> None:
        self.counter = seed

    def uuid4(self) -> uuid.UUID:
        """Return the next predictable UUID."""
        self.counter += 1
        return uuid.UUID(int=self.counter, version=4)
