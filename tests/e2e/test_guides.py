"""The guides per role (``docs/guides/``), followed as a reader follows them.

Every ``console`` block of the four guides runs, in the order of the one story they tell
(:data:`STORY`), from a fresh ``HOME``, against a real devnet, gateway, validators, providers
and publisher, each a process of its own (:mod:`tests.e2e.console_blocks`). A command that
fails, an expectation not met in time, a process that exits with an error (Ctrl-C included)
or prints a traceback fails the test; so does a block outside the story, so no command in a
guide goes untested. The liberties taken: the port numbers the guides name are replaced by
free ports (devnet up's default port too), and ``ledgerlearn`` and ``python`` come from the
test's venv, as after ``source .venv/bin/activate``.

Afterwards the chain is audited: the task closed with every update accepted, and every
validator registered once although one was stopped, backed up, restored and restarted.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import socket
import sys
from pathlib import Path

import pytest

from tests.e2e.console_blocks import (
    Command,
    Expect,
    GuideError,
    Interrupt,
    Session,
    read_blocks,
)

ROOT = Path(__file__).resolve().parents[2]
GUIDES = ROOT / "docs" / "guides"

STORY: list[tuple[str, str]] = [
    ("operator.md", "Before you start"),
    ("operator.md", "1. The chain"),
    ("operator.md", "2. Keys"),
    ("operator.md", "3. The contracts"),
    ("operator.md", "4. Roles"),
    ("operator.md", "5. The gateway and the dashboard"),
    ("committee.md", "What you need"),
    ("committee.md", "1. Your key and your role"),
    ("committee.md", "2. Run your validator"),
    ("publisher.md", "What you need"),
    ("publisher.md", "1. Your key and your role"),
    ("publisher.md", "2. The model and the validation data"),
    ("provider.md", "What you need"),
    ("provider.md", "1. Your key and your role"),
    ("provider.md", "2. Your data file"),
    ("provider.md", "3. Run your provider"),
    ("publisher.md", "3. The committee"),
    ("publisher.md", "4. Publish"),
    ("committee.md", "3. While a task runs"),
    ("provider.md", "4. While the task runs"),
    ("publisher.md", "5. Watch it run"),
    ("publisher.md", "6. The model"),
    ("operator.md", "6. Ports"),
    ("operator.md", "7. Metrics"),
    ("operator.md", "8. Backups"),
    ("operator.md", "9. Restarts and upgrades"),
]
"""The guides' sections in the order of their story: the operator sets up, the committee
members start their validators, the publisher writes the model's spec and its validation data,
the providers check their files against the spec and wait for the task, the publisher
publishes, everyone sees it run and close, the publisher takes the model out, then the
operator reads the metrics, backs up, restores and restarts a validator."""

PORTS = (8545, 8000, 4001, 4002, 4003, 9101, 9102, 9103)
"""The ports the guides name: the devnet, the gateway, the validators' IPFS nodes and their
metrics."""

VALIDATORS = ("val1", "val2", "val3")


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def fresh_env(home: Path, devnet_port: int) -> dict[str, str]:
    """A reader's environment on a fresh machine, the venv active."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERLEARN_")}
    venv_bin = str(Path(sys.executable).parent)
    return env | {
        "HOME": str(home),
        "PATH": os.pathsep.join([venv_bin, env.get("PATH", "")]),
        "COLUMNS": "200",
        "LEDGERLEARN_DEVNET__PORT": str(devnet_port),
    }


def story_blocks() -> list:  # type: ignore[type-arg]
    """The blocks of the four guides in the story's order; every block is in the story."""
    by_section: dict[tuple[str, str], list] = {}  # type: ignore[type-arg]
    for guide in ("operator.md", "committee.md", "provider.md", "publisher.md"):
        for block in read_blocks(GUIDES / guide):
            by_section.setdefault((guide, block.section), []).append(block)
    outside = set(by_section) - set(STORY)
    assert not outside, f"sections with commands that the story does not run: {outside}"
    empty = [s for s in STORY if s not in by_section]
    assert not empty, f"sections in the story without a console block: {empty}"
    return [block for section in STORY for block in by_section[section]]


def read_blocks_of(tmp_path: Path, body: str) -> list:  # type: ignore[type-arg]
    guide = tmp_path / "one-block.md"
    guide.write_text(f"## S\n```console\n{body}```\n")
    return read_blocks(guide)


def test_the_guides_block_format_is_read_as_documented(tmp_path: Path) -> None:
    """The parser: commands with continuations and here-documents, terminals, expectations,
    Ctrl-C, comments; anything else refused with its line."""
    guide = tmp_path / "guide.md"
    guide.write_text(
        "# A guide\n## 1. First\n```console\n# a comment\n$ echo a \\\n    b\n# expect: a b\n"
        "$ python - <<'EOF'\n# not a marker\nprint(1)\nEOF\n```\n"
        "```bash\nnot run\n```\n## 2. Second\n```console\n# terminal: t (keeps running)\n"
        "$ sleep 100\n# expect: x\n^C\n```\n"
    )
    first, second = read_blocks(guide)
    assert (first.section, first.terminal, second.section, second.terminal) == (
        "1. First",
        None,
        "2. Second",
        "t",
    )
    assert first.steps == (
        Command("echo a \\\n    b", "guide.md:5"),
        Expect("a b", "guide.md:7"),
        Command("python - <<'EOF'\n# not a marker\nprint(1)\nEOF", "guide.md:8"),
    )
    assert [type(s) for s in second.steps] == [Command, Expect, Interrupt]
    for bad, message in [
        ("```console\n$ ls\nsome output\n```\n", "guide.md:3: neither a command"),
        ("```console\n^C\n```\n", "^C only in a '# terminal:' block"),
        ("```console\n$ ls\n# expect: (\n```\n", "not a regular expression"),
        ("```console\n$ cat <<EOF\nno end\n```\n", "goes on past the block's end"),
    ]:
        guide.write_text(bad)
        with pytest.raises(GuideError, match=re.escape(message)):
            read_blocks(guide)


def test_the_session_runs_commands_as_bash_does(tmp_path: Path) -> None:
    """Exports and the folder carry over in the first terminal, a second terminal starts from
    them, an unmet expectation and a failing command are errors."""
    home = tmp_path / "home"
    home.mkdir()
    session = Session(home, {**os.environ, "HOME": str(home)}, tmp_path / "logs")
    guide = tmp_path / "guide.md"
    # a command that stops cleanly on Ctrl-C, as the agents do
    server = (
        f"{sys.executable} -c 'import os, signal, sys, time; "
        "signal.signal(signal.SIGINT, lambda *_: sys.exit(0)); "
        'print(os.environ["GREETING"], flush=True); time.sleep(60)\''
    )
    guide.write_text(
        "## S\n```console\n$ mkdir -p ~/work && cd ~/work && export GREETING=hello\n"
        "$ echo $GREETING from $(basename $PWD)\n# expect: hello from work\n```\n"
        f"```console\n# terminal: t (keeps running)\n$ {server}\n# expect: hello\n^C\n```\n"
    )
    for block in read_blocks(guide):
        session.run_block(block)
    assert session.terminals["t"].finished[0][1] == 0
    assert session.terminals["t"].cwd == home / "work"
    with pytest.raises(GuideError, match="exited with 3"):
        session.run(Command("exit 3", "x:1"))
    with pytest.raises(GuideError, match="does not match /bye/"):
        session.run_block(read_blocks_of(tmp_path, "$ echo hello\n# expect: bye\n")[0])


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_guides_end_to_end(tmp_path: Path) -> None:
    from ledgerlearn.chain.backend import connect
    from ledgerlearn.chain.client import LedgerClient
    from ledgerlearn.chain.deployment import Deployment
    from ledgerlearn.chain.events import EventStream
    from ledgerlearn.chain.index import LedgerIndex
    from ledgerlearn.config import ChainSettings
    from ledgerlearn.core.rules import Status

    missing = [tool for tool in ("bash", "curl", "tar", "paste") if shutil.which(tool) is None]
    assert not missing, f"the guides use {', '.join(missing)}: install it (apt-get install ...)"
    blocks = story_blocks()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    home = tmp_path / "home"
    home.mkdir()
    ports = dict(zip(PORTS, free_ports(len(PORTS)), strict=True))
    port_pattern = re.compile(r"\b(" + "|".join(str(p) for p in PORTS) + r")\b")

    def substitute(text: str) -> str:
        return port_pattern.sub(lambda m: str(ports[int(m[1])]), text)

    session = Session(home, fresh_env(home, ports[8545]), tmp_path / "logs", substitute)
    problems: list[str] = []
    try:
        for block in blocks:
            session.run_block(block)
        # the chain, while the devnet still runs
        chain = connect(ChainSettings(backend="rpc", rpc_url=f"http://127.0.0.1:{ports[8545]}"))
        deployment = Deployment.load(home / "consortium" / "deployment.json")
        index = LedgerIndex()
        events = EventStream(LedgerClient(chain, deployment)).poll().events
        index.apply_all(events)
    finally:
        problems += session.stop_all()
        cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
        timings = [f"{seconds:6.1f} s  {where}" for where, seconds in session.timings]
        timings.append(f"{sum(s for _, s in session.timings):6.1f} s  every block")
        cpu_s = cpu.ru_utime + cpu.ru_stime - before.ru_utime - before.ru_stime
        timings.append(f"{cpu_s:6.1f} s  CPU of every process")
        (tmp_path / "logs" / "timings.txt").write_text("\n".join(timings) + "\n")
        print("\n".join(timings))
    assert not problems, "\n\n".join(problems)

    task = index.tasks[1]
    assert task.closed and task.final_model_hash is not None
    assert len(task.rounds) == 2
    statuses = [u.status for u in task.updates.values()]
    assert len(statuses) >= 5 and all(s is Status.ACCEPTED for s in statuses), statuses
    # one registration per validator: the restarted one kept its address
    registered: dict[str, int] = {}
    for event in events:
        if event.name == "MemberRegistered":
            account = str(event.args["account"])
            registered[account] = registered.get(account, 0) + 1
    committee = task.params.committee
    assert all(registered.get(member) == 1 for member in committee), registered
    # every member judged every update (scored it, or saw the others decide it first), every
    # update had at least two scores, and at least two members attested each round
    updates = {"0x" + u.hex()[:12] for u in task.updates}
    scorers: dict[str, set[str]] = {u: set() for u in updates}
    attested = {number: 0 for number in task.rounds}
    for name in VALIDATORS:
        out = session.terminals[name].text()
        scored = set(re.findall(r"task 1 round \d: scored (0x[0-9a-f]{12}) from 0x", out))
        passed = set(re.findall(r"(0x[0-9a-f]{12}) from 0x\w+ was accepted by the other", out))
        assert scored | passed == updates and not scored & passed, (name, out)
        for update in scored:
            scorers[update].add(name)
        for number in attested:
            attested[number] += f"task 1 round {number}: attested aggregate" in out
    assert all(len(names) >= 2 for names in scorers.values()), scorers
    assert all(count >= 2 for count in attested.values()), attested
    # nothing went wrong that an operator would have to look at
    for terminal in session.terminals.values():
        text = terminal.text()
        assert "Traceback" not in text, terminal.tail()
        warnings = [line for line in text.splitlines() if re.search(r" (WARNING|ERROR) ", line)]
        assert not warnings, (terminal.name, warnings)
    assert "Traceback" not in (tmp_path / "logs" / "main.log").read_text()
