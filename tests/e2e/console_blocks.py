"""The ``console`` blocks of a guide, read and run as a person runs them in terminals.

A block is a shell session (``docs/guides/README.md`` explains it to readers):

- ``$ COMMAND``: a command. A line ending in ``\\`` goes on on the next line, and the lines of
  a here-document (``<<'EOF'`` ... ``EOF``) belong to their command.
- ``# terminal: NAME (keeps running)`` as the first line: the block happens in the terminal
  NAME, opened on first use in the first terminal's folder with the variables it exported;
  its command runs in the background. A later block starting ``# terminal: NAME`` comes back
  to it.
- ``# expect: REGEX``: in the first terminal, the last command's output matches; in a
  terminal NAME, wait until its output matches, after what the previous expectation matched.
- ``^C``: Ctrl-C in a terminal NAME: SIGINT, and the command must exit with code 0.
- Any other line starting with ``#`` is a comment for the reader; blank lines are skipped; a
  line that is none of these is refused (a guide shows no output it does not check).

Commands run in bash. The first terminal runs each command in a fresh ``bash -c`` and keeps
what it exported and the folder it ended in (shell variables that are not exported do not
carry over, as they would not to a second terminal either).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

TERMINAL = re.compile(r"# terminal: (?P<name>[\w-]+)(?P<keeps> \(keeps running\))?")
HEREDOC = re.compile(r"<<-?\s*(?P<quote>['\"]?)(?P<word>\w+)(?P=quote)")
FENCE = re.compile(r"^```(?P<info>\S*)\s*$")


class GuideError(AssertionError):
    """A guide's block that does not parse, or does not do what it says."""


@dataclass(frozen=True)
class Command:
    text: str
    where: str


@dataclass(frozen=True)
class Expect:
    pattern: str
    where: str


@dataclass(frozen=True)
class Interrupt:
    where: str


Step = Command | Expect | Interrupt


@dataclass(frozen=True)
class Block:
    """One ``console`` block: the section it is in, its terminal (None: the first one)."""

    guide: str
    section: str
    terminal: str | None
    steps: tuple[Step, ...]
    where: str


def read_blocks(path: Path) -> list[Block]:
    """Every ``console`` block of a markdown file, with the ``## `` section it is in."""
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    section = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if fence is None:
            if line.startswith("## "):
                section = line[3:].strip()
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), None)
        if end is None:
            raise GuideError(f"{path.name}:{i + 1}: a code block that never ends")
        if fence["info"] == "console":
            blocks.append(_parse_block(path.name, section, lines[i + 1 : end], i + 2))
        i = end + 1
    return blocks


def _parse_block(guide: str, section: str, lines: list[str], first: int) -> Block:
    where = f"{guide}:{first - 1}"
    terminal = None
    start = 0
    if lines and lines[0].startswith("# terminal:"):
        match = TERMINAL.fullmatch(lines[0].rstrip())
        if match is None:
            raise GuideError(f"{guide}:{first}: expected '# terminal: NAME (keeps running)'")
        terminal = match["name"]
        start = 1
    steps: list[Step] = []
    i = start
    while i < len(lines):
        line, here = lines[i], f"{guide}:{first + i}"
        i += 1
        if not line.strip() or (line.startswith("#") and not line.startswith("# expect: ")):
            if line.startswith("# terminal:"):
                raise GuideError(f"{here}: '# terminal:' belongs on a block's first line")
            continue
        if line.startswith("# expect: "):
            pattern = line.removeprefix("# expect: ")
            try:
                re.compile(pattern)
            except re.error as exc:
                raise GuideError(f"{here}: not a regular expression: {exc}") from None
            steps.append(Expect(pattern, here))
        elif line.rstrip() == "^C":
            if terminal is None:
                raise GuideError(f"{here}: ^C only in a '# terminal:' block")
            steps.append(Interrupt(here))
        elif line.startswith("$ "):
            text = [line[2:]]
            heredoc = HEREDOC.search(line)
            while heredoc is not None or text[-1].endswith("\\"):
                if i >= len(lines):
                    raise GuideError(f"{here}: the command goes on past the block's end")
                text.append(lines[i])
                i += 1
                if heredoc is not None and lines[i - 1].strip() == heredoc["word"]:
                    heredoc = None
            steps.append(Command("\n".join(text), here))
        else:
            raise GuideError(f"{here}: neither a command ($), an expectation nor a comment")
    if not steps:
        raise GuideError(f"{where}: a block with nothing to run or check")
    return Block(guide, section, terminal, tuple(steps), where)


# --- running ----------------------------------------------------------------------------------


@dataclass
class Terminal:
    """A second terminal: its log (stdout and stderr, as a terminal shows them), the command
    running in it, and how far the expectations have read."""

    name: str
    log: Path
    env: dict[str, str]
    cwd: Path
    process: subprocess.Popen[bytes] | None = None
    command: Command | None = None
    cursor: int = 0
    finished: list[tuple[Command, int]] = field(default_factory=list)

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.text().splitlines()[-lines:])

    def reap(self) -> None:
        """Record the running command's exit code once it ended."""
        if self.process is not None and self.process.poll() is not None:
            assert self.command is not None
            self.finished.append((self.command, self.process.returncode))
            self.process = None


class Session:
    """The terminals of one reader following the guides.

    ``substitute`` rewrites each command and expectation before use (the test's free ports
    for the guides' port numbers).
    """

    def __init__(
        self,
        cwd: Path,
        env: dict[str, str],
        logs: Path,
        substitute: Callable[[str], str] = lambda text: text,
        command_timeout_s: float = 180,
        expect_timeout_s: float = 300,
    ) -> None:
        self.cwd = cwd
        self.env = env
        self.logs = logs
        self.substitute = substitute
        self.command_timeout_s = command_timeout_s
        self.expect_timeout_s = expect_timeout_s
        self.terminals: dict[str, Terminal] = {}
        self.outputs: list[tuple[Command, str]] = []
        self.timings: list[tuple[str, float]] = []
        """(block, seconds it took), in order."""
        logs.mkdir(parents=True, exist_ok=True)

    # -- the first terminal --

    def run(self, command: Command) -> str:
        """Run a command to its end in the first terminal; it must exit 0. Its output."""
        state = self.logs / "state"
        script = (
            f"{self.substitute(command.text)}\n__rc=$?\n"
            f"env -0 > {state}.env\npwd > {state}.cwd\nexit $__rc\n"
        )
        try:
            result = subprocess.run(
                ["bash", "-c", script],
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=self.command_timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise GuideError(
                f"{command.where}: `{command.text}` still running after "
                f"{self.command_timeout_s:.0f} s"
            ) from exc
        output = result.stdout.decode(errors="replace")
        with (self.logs / "main.log").open("a") as log:
            log.write(f"$ {command.text}\n{output}")
        self.outputs.append((command, output))
        if result.returncode != 0:
            raise GuideError(
                f"{command.where}: `{command.text}` exited with {result.returncode}:\n{output}"
            )
        self.env = dict(
            item.split("=", 1)
            for item in (state.with_suffix(".env").read_bytes().decode().split("\0"))
            if "=" in item
        )
        self.cwd = Path(state.with_suffix(".cwd").read_text().strip())
        return output

    # -- second terminals --

    def terminal(self, name: str) -> Terminal:
        """The terminal ``name``, opened with the first terminal's folder and variables."""
        if name not in self.terminals:
            self.terminals[name] = Terminal(
                name, self.logs / f"{name}.log", dict(self.env), self.cwd
            )
        return self.terminals[name]

    def start(self, terminal: Terminal, command: Command) -> None:
        self.check_exits()
        if terminal.process is not None:
            raise GuideError(f"{command.where}: terminal {terminal.name} is still busy")
        with terminal.log.open("a") as log:
            log.write(f"$ {command.text}\n")
            log.flush()
            terminal.cursor = len(terminal.text())
            terminal.process = subprocess.Popen(
                ["bash", "-c", self.substitute(command.text)],
                cwd=terminal.cwd,
                env=terminal.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, as a terminal's job
            )
        terminal.command = command

    def wait_for(self, terminal: Terminal, expect: Expect) -> None:
        """Wait until the terminal's output after its cursor matches."""
        pattern = re.compile(self.substitute(expect.pattern), re.MULTILINE)
        deadline = time.monotonic() + self.expect_timeout_s
        while True:
            text = terminal.text()
            match = pattern.search(text, terminal.cursor)
            if match is not None:
                terminal.cursor = match.end()
                return
            terminal.reap()
            if terminal.process is None:
                raise GuideError(
                    f"{expect.where}: terminal {terminal.name}'s command ended without "
                    f"printing /{expect.pattern}/:\n{terminal.tail()}"
                )
            self.check_exits()
            if time.monotonic() > deadline:
                raise GuideError(
                    f"{expect.where}: terminal {terminal.name} has not printed "
                    f"/{expect.pattern}/ after {self.expect_timeout_s:.0f} s:\n{terminal.tail()}"
                )
            time.sleep(0.25)

    def interrupt(self, terminal: Terminal, where: str, timeout_s: float = 60) -> int:
        """Ctrl-C: SIGINT to the terminal's job; the exit code."""
        terminal.reap()
        if terminal.process is None:
            raise GuideError(f"{where}: nothing runs in terminal {terminal.name} to stop")
        process = terminal.process
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise GuideError(
                f"{where}: terminal {terminal.name} did not stop within {timeout_s:.0f} s of "
                f"Ctrl-C:\n{terminal.tail()}"
            ) from None
        terminal.reap()
        return process.returncode

    def check_exits(self) -> None:
        """Fail as soon as a command in any terminal ended with an error."""
        for terminal in self.terminals.values():
            terminal.reap()
            for command, code in terminal.finished:
                if code != 0:
                    raise GuideError(
                        f"{command.where}: `{command.text}` in terminal {terminal.name} exited "
                        f"with {code}:\n{terminal.tail()}"
                    )

    # -- blocks --

    def run_block(self, block: Block) -> None:
        started = time.monotonic()
        try:
            self._run_block(block)
        finally:
            self.timings.append((block.where, time.monotonic() - started))

    def _run_block(self, block: Block) -> None:
        if block.terminal is None:
            output = ""
            cursor = 0
            for step in block.steps:
                if isinstance(step, Command):
                    output, cursor = self.run(step), 0
                elif isinstance(step, Expect):
                    match = re.compile(self.substitute(step.pattern), re.MULTILINE).search(
                        output, cursor
                    )
                    if match is None:
                        raise GuideError(
                            f"{step.where}: the output does not match /{step.pattern}/:\n{output}"
                        )
                    cursor = match.end()
            self.check_exits()
            return
        terminal = self.terminal(block.terminal)
        for step in block.steps:
            if isinstance(step, Command):
                self.start(terminal, step)
            elif isinstance(step, Expect):
                self.wait_for(terminal, step)
            else:
                code = self.interrupt(terminal, step.where)
                if code != 0:
                    raise GuideError(
                        f"{step.where}: terminal {terminal.name} exited with {code} on Ctrl-C:\n"
                        f"{terminal.tail()}"
                    )

    def stop_all(self) -> list[str]:
        """Ctrl-C in every terminal still running, the last opened first (the devnet, opened
        first, stops last); every command must have exited 0. The problems found."""
        problems = []
        for terminal in reversed(list(self.terminals.values())):
            terminal.reap()
            if terminal.process is not None:
                try:
                    self.interrupt(terminal, f"the end (terminal {terminal.name})")
                except GuideError as exc:
                    problems.append(str(exc))
            for command, code in terminal.finished:
                if code != 0:
                    problems.append(
                        f"{command.where}: `{command.text}` in terminal {terminal.name} exited "
                        f"with {code}:\n{terminal.tail()}"
                    )
        return problems
