"""Who may train, and when: one training at a time per device, first come first served, and each visitor holds at
most one place in that line (waiting or running), with at most a few places per network address and a bounded
line. Trainings wait here, not in Gradio's queue, so a flood of them can never fill the queue that audits use."""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

from amint_demo.errors import InvalidConfig


@dataclass(eq=False)
class Ticket:
    """A place in the line; `position` 0 means this ticket's training runs now."""

    session: str
    address: str
    line: TrainingLine = field(repr=False)

    @property
    def position(self) -> int:
        return self.line.position(self)

    def wait(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for this ticket's turn; True when it has come."""
        return self.line.wait_turn(self, timeout_s)

    def leave(self) -> None:
        self.line.leave(self)


class TrainingLine:
    """The line of trainings for one device."""

    def __init__(self, max_waiting: int, per_address: int) -> None:
        self.max_waiting, self.per_address = max_waiting, per_address
        self._line: deque[Ticket] = deque()
        self._changed = threading.Condition()

    def enter(self, session: str, address: str) -> Ticket:
        """A place at the end of the line, or InvalidConfig saying why not (nothing is queued then)."""
        with self._changed:
            if any(t.session == session for t in self._line):
                raise InvalidConfig("you already have a training running or waiting: stop it or wait for it to end")
            if sum(t.address == address for t in self._line) >= self.per_address:
                raise InvalidConfig(f"{self.per_address} trainings from your network are already running or waiting; "
                                    f"try again when one has ended")
            if len(self._line) > self.max_waiting:
                raise InvalidConfig(f"{self.max_waiting} trainings are already waiting; try again in a few minutes")
            ticket = Ticket(session, address, self)
            self._line.append(ticket)
            return ticket

    def position(self, ticket: Ticket) -> int:
        with self._changed:
            return self._line.index(ticket)

    def wait_turn(self, ticket: Ticket, timeout_s: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._line[0] is ticket, timeout=timeout_s)

    def leave(self, ticket: Ticket) -> None:
        with self._changed:
            if ticket in self._line:
                self._line.remove(ticket)
                self._changed.notify_all()
