"""`askdoc chat`: a conversation in a terminal (driven through a pseudo-terminal) and as JSON lines."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import time

import pytest

from .conftest import ROOT

pty = pytest.importorskip("pty")

_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[>=]|\r")


class Terminal:
    """A process on a pseudo-terminal: what it printed, and a keyboard."""

    def __init__(self, args: list[str], env: dict):
        self.fd, slave = pty.openpty()
        self.proc = subprocess.Popen(
            args, stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, env=env, start_new_session=True
        )
        os.close(slave)
        self.seen = ""
        # poll, not select: select() refuses descriptors past 1,024, which a test process
        # that has opened many indexes reaches.
        self.poller = select.poll()
        self.poller.register(self.fd, select.POLLIN)

    def _ready(self, timeout: float) -> bool:
        return bool(self.poller.poll(timeout * 1000))

    def read_until(self, pattern: str, timeout: float = 180) -> str:
        """Everything printed up to and including ``pattern`` (a regex), escapes removed."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self.seen)
            if m:
                out, self.seen = self.seen[: m.end()], self.seen[m.end() :]
                return out
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None and not self._ready(0):
                pytest.fail(f"no {pattern!r} in the terminal; it showed: {self.seen[-2000:]!r}")
            if self._ready(min(left, 1.0)):
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:  # the process closed the terminal
                    chunk = b""
                self.seen += _ESCAPES.sub("", chunk.decode("utf-8", "replace"))

    def type(self, keys: str) -> None:
        os.write(self.fd, keys.encode("utf-8"))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        os.close(self.fd)


def _env(tmp_path) -> dict:
    return {**os.environ, "ASKDOC_INDEX_DIR": str(tmp_path / "index"), "NO_COLOR": "1", "TERM": "xterm"}


@pytest.mark.slow
def test_chat_in_a_terminal_follows_up_edits_lines_and_clears(tmp_path):
    term = Terminal([sys.executable, "-m", "askdoc.cli", "chat"], _env(tmp_path))
    try:
        term.read_until(r"you> ")
        # Line editing: the stray "X" is rubbed out with Backspace before Enter.
        term.type("When was NAM establishedX\x7f?\r")
        first = term.read_until(r"you> ")
        assert "Answer: 1961" in first and "Reading this as" not in first
        assert re.search(r"\[1\] Azerbaijan Leads Non-Aligned Movement — line 9, chars \d+–\d+", first)
        term.type("How many member states does it have?\r")
        follow = term.read_until(r"you> ")
        assert "(Reading this as: How many member states does NAM have?)" in follow
        assert "120 member states" in follow and "confidence" in follow
        term.type("/clear\r")
        term.read_until(r"conversation cleared\)\s*you> ")
        term.type("Why?\r")  # nothing to read it against now
        assert "The documents do not say" in term.read_until(r"you> ")
        term.type("\x04")  # Ctrl-D ends the chat
        assert term.proc.wait(timeout=30) == 0
    finally:
        term.close()


@pytest.mark.slow
def test_chat_json_lines_for_programs(tmp_path):
    lines = "What is the Non-Aligned Movement?\nWhen was it established?\n\nWho wrote the article?\n"
    out = subprocess.run(
        [sys.executable, "-m", "askdoc.cli", "chat", "--json"], input=lines, capture_output=True, text=True,
        env=_env(tmp_path), cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    answers = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(answers) == 3  # the blank line asks nothing
    assert answers[0]["resolved_question"] == ""
    assert answers[1]["resolved_question"] == "When was the Non-Aligned Movement established?"
    assert answers[1]["found"] and "1961" in answers[1]["text"]
    assert answers[2]["resolved_question"] == "" and answers[2]["question"] == "Who wrote the article?"
