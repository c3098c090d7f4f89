"""A session's output as plain text: terminal control codes gone, overwrites applied.

pyte parses the escape sequences (CSI, OSC ended by BEL or ST, charset switches), so no
sequence leaks through half-stripped; `_Lines` keeps only what a reader of a log wants:
text, carriage returns and backspaces that overwrite it, erased line ends and new lines.
Colours, cursor jumps and screen clears are dropped (a log keeps its whole history).
"""

from __future__ import annotations

import re
from typing import Any

import pyte

# An OSC (window title, hyperlink) ends at BEL or ST; one left open ends at the line's end
# here, so a stray ESC ] cannot swallow the rest of a log (pyte would read on to a BEL).
_OSC = re.compile(r"(?:\x1b\]|\x9d)[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # what pyte draws but a log cannot show


class _Lines:
    """A pyte listener that writes a log instead of a screen; every other event is ignored."""

    def __init__(self) -> None:
        self.done: list[str] = []
        self.line: list[str] = []
        self.column = 0

    def draw(self, text: str) -> None:
        text = _CONTROL.sub("", text)
        self.line.extend(" " * (self.column - len(self.line)))
        end = self.column + len(text)
        self.line[self.column : end] = text
        self.column = end

    def linefeed(self) -> None:
        self.done.append("".join(self.line).rstrip())
        self.line = []
        self.column = 0

    def carriage_return(self) -> None:
        self.column = 0

    def backspace(self) -> None:
        self.column = max(0, self.column - 1)

    def tab(self) -> None:
        self.draw(" " * (8 - self.column % 8))

    def erase_in_line(self, how: int = 0, private: bool = False) -> None:
        """0: from the cursor on, 1: up to the cursor (what follows keeps its column), 2: all."""
        if how == 1:
            self.line[: self.column] = " " * self.column
        else:
            del self.line[self.column if how == 0 else 0 :]

    def __getattr__(self, name: str) -> Any:
        return _ignore

    def text(self) -> str:
        return "\n".join([*self.done, "".join(self.line).rstrip()])


def _ignore(*args: object, **kwargs: object) -> None:
    return None


def plain_text(output: str) -> str:
    """`output` as a reader of a plain log wants it (see the module docstring)."""
    lines = _Lines()
    stream = pyte.Stream(lines)  # type: ignore[arg-type]
    stream.feed(_OSC.sub("", output.replace("\r\n", "\n")))
    return lines.text()
