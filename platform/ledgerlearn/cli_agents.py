"""The person-facing agent commands: ``ledgerlearn publish``, ``provider run``, ``validator run``.

Each command runs one member's agent in this process, with the member's own key, state
directory and embedded IPFS node (:mod:`ledgerlearn.agents.session`), against a deployment on
a JSON-RPC chain (the devnet or a permissioned network):

- ``publish`` puts a task's content on IPFS (model spec, initial weights, one encrypted
  validation fragment per committee member), publishes the task, then keeps its rounds
  (:class:`~ledgerlearn.flows.federation.keeper.RoundKeeper`) and serves the content until it
  closes;
- ``provider run`` trains on the member's data each round (federation) or at its own pace on
  tips it selects (dag: the task decides) and submits its updates until the task closes;
- ``validator run`` registers the member's IPFS address and encryption key, then scores updates
  and attests aggregates of every task whose committee it sits on, until stopped.

Defaults come from the settings (:mod:`ledgerlearn.config`): the keystore
(``LEDGERLEARN_AGENT__KEYSTORE``, password ``LEDGERLEARN_AGENT__PASSWORD`` or a prompt), the
RPC URL, and per-account subfolders of ``agent.state_dir`` and ``storage.repo_dir`` so that
several agents run side by side on one machine. Problems with the inputs, the account or the
chain end the command with a one-line ``error:`` and exit code 1. Set ``LEDGERLEARN_LOG=INFO``
for the agents' logs.

Bundled datasets (``--dataset``): the publisher keeps a seeded share of the training split as
its validation set (:data:`BUNDLED_VALIDATION_FRACTION`, seed :data:`BUNDLED_SPLIT_SEED`) and
providers partition the rest, so validation and training data never overlap.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from ledgerlearn.config import ChainSettings, Settings, StorageSettings
from ledgerlearn.errors import ConfigError, LedgerlearnError
from ledgerlearn.flows.policy import Policy

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from rich.progress import TaskID

    from ledgerlearn.agents.participant import Participant
    from ledgerlearn.agents.session import AgentSession
    from ledgerlearn.chain.index import TaskRecord
    from ledgerlearn.data import Dataset
    from ledgerlearn.flows.scoring import ScoreRecord
    from ledgerlearn.model import ModelSpec
    from ledgerlearn.training import TrainingProgress

__all__ = [
    "BUNDLED_SPLIT_SEED",
    "BUNDLED_VALIDATION_FRACTION",
    "provider_app",
    "publish",
    "validator_app",
]

provider_app = typer.Typer(
    help="Data provider: train on your data, submit updates.", no_args_is_help=True
)
validator_app = typer.Typer(
    help="Committee member: score updates, attest aggregates.", no_args_is_help=True
)

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
BUNDLED_VALIDATION_FRACTION: dict[str, float] = {"digits": 0.3, "mnist": 0.05}
"""Share of a bundled dataset's training split the publisher keeps as validation data."""

BUNDLED_SPLIT_SEED = 0
"""Seed of that split (fixed: publisher and providers must agree on it)."""

POLL_S = 0.5
"""Wait between polls of the chain when the agent has nothing to do."""

# --- options shared by the three commands ----------------------------------------------------

KeystoreOpt = Annotated[
    Path | None,
    typer.Option(
        help="Your keystore (default: LEDGERLEARN_AGENT__KEYSTORE); its password comes from "
        "LEDGERLEARN_AGENT__PASSWORD or a prompt."
    ),
]
DeploymentOpt = Annotated[
    Path | None,
    typer.Option(
        "--deployment",
        "-d",
        help="Deployment file (default: LEDGERLEARN_CHAIN__DEPLOYMENT_FILE or deployment.json).",
    ),
]
RpcOpt = Annotated[
    str | None, typer.Option("--rpc", help="JSON-RPC URL (default: LEDGERLEARN_CHAIN__RPC_URL).")
]
StateDirOpt = Annotated[
    Path | None,
    typer.Option(
        help="Checkpoint and outbox of this agent (default: <agent.state_dir>/<account>)."
    ),
]
IpfsRepoOpt = Annotated[
    Path | None,
    typer.Option(help="IPFS repository of this agent (default: <storage.repo_dir>/<account>)."),
]
FetchTimeoutOpt = Annotated[
    float | None,
    typer.Option(
        min=0.1, help="Deadline of one IPFS fetch, seconds (default: storage.get_timeout_s)."
    ),
]
BundledOpt = Literal["digits", "mnist"]

_DATASET_HELP = (
    "Bundled dataset: the publisher validates on a seeded share of its training split "
    "(30 % of digits, 5 % of MNIST); providers partition the rest."
)


# --- errors -----------------------------------------------------------------------------------


def _fail(message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code=1)


def _describe(exc: ValidationError, what: str, options: Mapping[str, str]) -> str:
    """One line from a pydantic error, naming the command-line options at fault."""
    problems = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        where = options.get(field, field)
        problems.append(f"{where}: {message}" if where else message)
    return f"invalid {what}: " + "; ".join(problems)


@contextmanager
def _clear_errors(
    what: str = "settings", options: Mapping[str, str] | None = None
) -> Iterator[None]:
    """Turn the library's errors into ``error: ...`` and exit code 1 (no traceback)."""
    try:
        yield
    except LedgerlearnError as exc:
        _fail(str(exc))
    except ValidationError as exc:
        _fail(_describe(exc, what, options or {}))


def _setup_logging() -> None:
    level = os.environ.get("LEDGERLEARN_LOG", "WARNING").upper()
    if not isinstance(logging.getLevelName(level), int):
        level = "WARNING"
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("web3", "urllib3", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


# --- wiring -----------------------------------------------------------------------------------


class _Agent:
    """What every command resolves before it starts its session."""

    def __init__(
        self,
        keystore: Path | None,
        deployment: Path | None,
        rpc: str | None,
        state_dir: Path | None,
        ipfs_repo: Path | None,
        fetch_timeout: float | None,
    ) -> None:
        from ledgerlearn.chain.keys import load_keystore

        settings = Settings()
        path = keystore or settings.agent.keystore
        if path is None:
            raise ConfigError("no keystore: give --keystore (or set LEDGERLEARN_AGENT__KEYSTORE)")
        self.account: LocalAccount = load_keystore(path.expanduser())
        self.chain: ChainSettings = settings.chain.model_copy(
            update={"backend": "rpc", "rpc_url": rpc or settings.chain.rpc_url}
        )
        self.deployment = (
            deployment or settings.chain.deployment_file or Path("deployment.json")
        ).expanduser()
        sub = self.account.address
        self.state_dir = (state_dir or settings.agent.state_dir / sub).expanduser()
        repo = (ipfs_repo or settings.storage.repo_dir / sub).expanduser()
        self.storage: StorageSettings = settings.storage.model_copy(update={"repo_dir": repo})
        self.fetch_timeout_s = fetch_timeout or settings.storage.get_timeout_s

    @contextmanager
    def session(self, role: str) -> Iterator[AgentSession]:
        """The running agent (:func:`~ledgerlearn.agents.session.open_session`)."""
        import torch

        from ledgerlearn.agents.session import open_session
        from ledgerlearn.errors import ChainReorgError, ChainResetError

        torch.set_num_threads(1)
        try:
            with open_session(
                self.account,
                self.chain,
                self.deployment,
                self.state_dir,
                self.storage,
                role=role,
                fetch_timeout_s=self.fetch_timeout_s,
            ) as session:
                yield session
        except (ChainResetError, ChainReorgError) as exc:
            raise type(exc)(
                f"{exc} (this agent's state in {self.state_dir} belongs to the chain before: "
                "remove it or give another --state-dir)"
            ) from exc


def _one_of(first: object, second: object, names: str) -> None:
    if (first is None) == (second is None):
        raise typer.BadParameter(f"give exactly one of {names}")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _short(digest: bytes) -> str:
    return "0x" + digest.hex()[:12]


def _closed_line(participant: Participant, task_id: int) -> str:
    from ledgerlearn.flows.registry import FLOWS

    task = participant.task(task_id)
    return FLOWS[task.flow].closed_line(task)


# --- publish ----------------------------------------------------------------------------------

PresetName = Literal["mlp_digits", "logreg_digits", "cnn_mnist"]

_OPTION_NAMES = {"aggregation_rule": "--rule"}

POLICY_OPTIONS: dict[str, str] = {
    name: _OPTION_NAMES.get(name, "--" + name.replace("_", "-")) for name in Policy.model_fields
}
"""Policy field -> the option that sets it (in ``publish`` and ``api publish``)."""

_FIELD_REFERENCE = re.compile(r"`(\w+)`")


def _parameter(option: str) -> str:
    """The command's parameter of an option: ``--max-parents`` -> ``max_parents``."""
    return option.removeprefix("--").replace("-", "_")


def _option_help(description: str | None) -> str:
    """A policy field's description, with the fields it names shown as their options."""
    return _FIELD_REFERENCE.sub(lambda m: POLICY_OPTIONS.get(m[1], m[1]), description or "")


def policy_options(command: Callable[..., None]) -> Callable[..., None]:
    """Give ``command`` one option per :class:`~ledgerlearn.flows.policy.Policy` field in
    place of its ``policy`` parameter: the option of :data:`POLICY_OPTIONS`, the field's type
    and default, its description as help. ``command`` is called with the ``Policy`` they make;
    an invalid one ends the command with ``error: invalid policy: --option: ...``."""
    signature = inspect.signature(command, eval_str=True)
    options = []
    for name, option in POLICY_OPTIONS.items():
        field = Policy.model_fields[name]
        help_text = _option_help(field.description)
        options.append(
            inspect.Parameter(
                _parameter(option),
                inspect.Parameter.KEYWORD_ONLY,
                default=field.default,
                annotation=Annotated[field.annotation, typer.Option(option, help=help_text)],
            )
        )
    parameters: list[inspect.Parameter] = []
    for parameter in signature.parameters.values():
        if parameter.name == "policy":
            parameters += options
        else:
            parameters.append(parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY))

    @functools.wraps(command)
    def with_policy(**values: Any) -> None:
        fields = {name: values.pop(_parameter(option)) for name, option in POLICY_OPTIONS.items()}
        with _clear_errors("policy", POLICY_OPTIONS):
            policy = Policy(**fields)
        command(policy=policy, **values)

    with_policy.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    with_policy.__annotations__ = {p.name: p.annotation for p in parameters}
    del with_policy.__wrapped__
    return with_policy


@policy_options
def publish(
    committee: Annotated[
        str,
        typer.Option(
            help="The validators' addresses, comma separated; each must have run "
            "`ledgerlearn validator run` once (it registers its encryption key)."
        ),
    ],
    keystore: KeystoreOpt = None,
    deployment: DeploymentOpt = None,
    rpc: RpcOpt = None,
    state_dir: StateDirOpt = None,
    ipfs_repo: IpfsRepoOpt = None,
    spec: Annotated[Path | None, typer.Option(help="Model spec JSON file (or --preset).")] = None,
    preset: Annotated[
        PresetName | None, typer.Option(help="A ready-made model spec (or --spec).")
    ] = None,
    weights: Annotated[
        Path | None,
        typer.Option(help="Initial weights, a .safetensors file matching the spec (or --seed)."),
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Seed of the initial weights and of the validation fragments.")
    ] = 0,
    validation: Annotated[
        Path | None,
        typer.Option(
            help="Validation data, .npz (arrays x, y) or .csv (label last); or --dataset."
        ),
    ] = None,
    dataset: Annotated[BundledOpt | None, typer.Option(help=_DATASET_HELP)] = None,
    *,
    policy: Policy,
    duration: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Dag: close the task this many blocks after publication (default: keep it "
            "open until Ctrl-C).",
        ),
    ] = None,
    expected_providers: Annotated[
        int | None,
        typer.Option(
            help="Providers expected per round: refuse a rule beyond its breakdown point."
        ),
    ] = None,
    keep: Annotated[
        bool,
        typer.Option(
            "--keep/--no-keep",
            help="Keep the rounds and serve the task's content until the task closes. With "
            "--no-keep nobody can fetch the content once this command exits.",
        ),
    ] = True,
    fetch_timeout: FetchTimeoutOpt = None,
) -> None:
    """Publish a learning task, then keep its rounds and serve its content until it closes.

    The model spec, the initial weights and the validation fragments (one per committee member,
    encrypted to its key) live on this command's IPFS node: while the task runs, this command
    must keep running (the default) or nobody can fetch them. It also keeps the rounds
    (settles late updates, proposes each round's aggregate).
    """
    _setup_logging()
    _one_of(spec, preset, "--spec FILE and --preset NAME")
    _one_of(validation, dataset, "--validation FILE and --dataset NAME")
    with _clear_errors("policy", POLICY_OPTIONS):
        from ledgerlearn.agents.publisher import Publisher
        from ledgerlearn.flows.registry import FLOW_NAMES, FLOWS

        strategy = FLOWS[FLOW_NAMES[policy.flow]]
        if duration is not None and strategy.ends_itself:
            raise ConfigError(
                f"--duration applies to tasks their publisher closes ({policy.flow} tasks end "
                "by themselves)"
            )
        members = _committee(committee)
        policy.check_committee(len(members), expected_providers)
        model = _spec(spec, preset)
        initial = _initial_weights(weights, model)
        validation_set = _validation(validation, dataset, model)
        agent = _Agent(keystore, deployment, rpc, state_dir, ipfs_repo, fetch_timeout)
        try:
            with agent.session("PUBLISHER") as session:
                publisher = Publisher(session.participant)
                params = publisher.prepare(
                    model,
                    validation_set,
                    members,
                    policy,
                    initial_weights=initial,
                    seed=seed,
                    expected_providers=expected_providers,
                )
                session.register_peer()  # where the members fetch the task's content
                task_id = publisher.publish(params).task_id
                console.print(f"task {task_id} published by {session.address}")
                console.print(f"  model spec       {params.model_spec_cid}")
                console.print(f"  initial weights  {params.initial_weights_cid}")
                for member, cid in zip(members, params.fragment_cids, strict=True):
                    console.print(f"  fragment for {member}  {cid}")
                if policy.flow == "dag":
                    until = "until Ctrl-C" if duration is None else f"for {duration} blocks"
                    shape = (
                        f"  dag: up to {policy.max_parents} parents per update, "
                        f"{policy.score_window} blocks to score each, open {until}"
                    )
                else:
                    shape = (
                        f"  {_count(policy.rounds, 'round')} of {policy.round_length} blocks "
                        f"(+{policy.score_window} to score)"
                    )
                console.print(
                    f"{shape}, quorum {policy.quorum}, f {policy.max_faulty_validators}, rule "
                    f"{policy.aggregation_rule}, {policy.metric} threshold {policy.threshold} "
                    f"({policy.threshold_mode})"
                )
                if not keep:
                    err.print(
                        "[bold yellow]warning:[/] --no-keep: the task's content lives only in "
                        f"this node's repository ({agent.storage.repo_dir}); while no node "
                        "serves it nobody can fetch it, and nobody keeps the rounds"
                    )
                    return
                console.print(
                    "keeping the task and serving its content until it closes "
                    "(stopping earlier makes the content unreachable)"
                )
                participant = session.participant
                participant.sync()
                published = participant.task(task_id).published_block
                close_at = None if duration is None else published + duration
                keeper = strategy.keeper(participant, task_id, close_at=close_at)
                watch: Callable[[], None]
                if policy.flow == "dag":
                    watch = _DagWatch(participant, task_id)
                else:
                    watch = _PublisherWatch(participant, task_id)
                session.run(
                    keeper.step,
                    until=lambda: participant.task(task_id).closed,
                    on_sync=watch,
                    poll_s=POLL_S,
                )
                console.print(_closed_line(participant, task_id))
        except KeyboardInterrupt:
            err.print("[bold yellow]interrupted:[/] the task's content is no longer served")
            raise typer.Exit(code=130) from None


def _committee(text: str) -> list[str]:
    from ledgerlearn.addresses import AddressError, parse_address

    members = [part.strip() for part in text.split(",") if part.strip()]
    if not members:
        raise ConfigError("--committee: give the validators' addresses, comma separated")
    checksummed: list[str] = []
    for member in members:
        try:
            checksummed.append(parse_address(member))
        except AddressError as exc:
            raise ConfigError(f"--committee: {exc}") from None
    if len(set(checksummed)) != len(checksummed):
        raise ConfigError("--committee: an address appears twice")
    return checksummed


def _spec(path: Path | None, preset: str | None) -> ModelSpec:
    from ledgerlearn.model import ModelSpec, presets

    if path is not None:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"--spec {path}: cannot read it ({exc.strerror or exc})") from None
        return ModelSpec.from_json(raw)
    factory: Callable[[], ModelSpec] = getattr(presets, str(preset))
    return factory()


def _initial_weights(path: Path | None, spec: ModelSpec) -> dict[str, object] | None:
    if path is None:
        return None
    from ledgerlearn.errors import WeightsError
    from ledgerlearn.model.weights import decode

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"--weights {path}: cannot read it ({exc.strerror or exc})") from None
    try:
        return dict(decode(data, spec))
    except WeightsError as exc:
        raise WeightsError(f"--weights {path}: {exc}") from None


def _bundled(name: str, spec: ModelSpec) -> tuple[Dataset, Dataset]:
    """(training pool, validation share) of a bundled dataset, shaped for ``spec``."""
    from ledgerlearn.data import DatasetError, load_bundled

    try:
        train = load_bundled(name, "train", input_shape=spec.input_shape)
    except DatasetError as exc:
        raise DatasetError(f"--dataset {name} does not fit the task's model: {exc}") from None
    pool, validation = train.split(BUNDLED_VALIDATION_FRACTION[name], seed=BUNDLED_SPLIT_SEED)
    return pool, validation


def _validation(path: Path | None, dataset: str | None, spec: ModelSpec) -> Dataset:
    from ledgerlearn.data import load_file

    if path is not None:
        data = load_file(path, num_classes=spec.num_classes, input_shape=spec.input_shape)
    else:
        _, data = _bundled(str(dataset), spec)
    data.check_matches(spec)
    return data


class _PublisherWatch:
    """Prints each round's opening, proposal and finalization once."""

    def __init__(self, participant: Participant, task_id: int) -> None:
        self.participant = participant
        self.task_id = task_id
        self.seen: set[tuple[int, str]] = set()

    def _once(self, number: int, what: str, line: str) -> None:
        if (number, what) not in self.seen:
            self.seen.add((number, what))
            console.print(line)

    def __call__(self) -> None:
        task = self.participant.task(self.task_id)
        for number, record in sorted(task.rounds.items()):
            self._once(number, "open", _round_opening(task, number))
            for proposal in record.proposals.values():
                self._once(
                    number,
                    "proposed",
                    f"round {number}: aggregate of {len(proposal.updates)} accepted updates "
                    f"proposed ({proposal.cid})",
                )
            if record.result_hash is not None:
                accepted, submitted = len(record.accepted), len(record.updates)
                self._once(
                    number,
                    "final",
                    f"round {number}: finalized, {accepted} of {submitted} updates accepted; "
                    f"model {task.cid_of(record.result_hash)}",
                )


def _round_opening(task: TaskRecord, number: int) -> str:
    """When a round's submissions and scores close, as the contract computes them: the window
    held open for ``min_updates``, the scoring extension of updates short of a quorum."""
    d = task.round_deadlines(number)
    p = task.params
    if d.waiting:
        line = (
            f"round {number}: open for updates until block {d.base_close}, up to block "
            f"{d.submissions_close} while fewer than {p.min_updates} arrived; scores until "
            f"{p.score_window} blocks after"
        )
    else:
        line = (
            f"round {number}: open for updates until block {d.submissions_close}, "
            f"scores until block {d.scoring_close}"
        )
    if p.score_extension:
        line += f" (+{p.score_extension} for updates short of a quorum)"
    return line


def _submissions_closed(task: TaskRecord, number: int, head: int) -> bool:
    """Whether round ``number`` refuses a submission sent now (mined in the next block)."""
    return head + 1 >= task.round_deadlines(number).submissions_close


class _DagWatch:
    """Prints each decision of a dag task once, with the committee's score and the tips."""

    def __init__(self, participant: Participant, task_id: int, only: str | None = None) -> None:
        self.participant = participant
        self.task_id = task_id
        self.only = only
        self.seen: set[tuple[bytes, str]] = set()

    def __call__(self) -> None:
        from ledgerlearn.core.rules import SCORE_INVALID, Status, from_fixed

        task = self.participant.task(self.task_id)
        for update in task.updates.values():
            if self.only is not None and update.provider != self.only:
                continue
            who = "" if self.only is not None else f" from {update.provider}"
            if (update.update, "submitted") not in self.seen:
                self.seen.add((update.update, "submitted"))
                if self.only is not None:
                    console.print(
                        f"submitted {_short(update.update)} on {len(update.parents)} parent(s) "
                        f"({update.cid})"
                    )
            if update.status not in (Status.ACCEPTED, Status.REJECTED):
                continue
            if (update.update, "decided") in self.seen:
                continue
            self.seen.add((update.update, "decided"))
            score = update.committee_score
            shown = (
                "invalid"
                if score is None or score == SCORE_INVALID
                else f"{from_fixed(score):+.4f}"
            )
            console.print(
                f"update {_short(update.update)}{who} {update.status.name.lower()} "
                f"(committee score {shown}); {len(task.tips())} tip(s)"
            )


# --- provider run -----------------------------------------------------------------------------

PartitionName = Literal["iid", "dirichlet", "shard"]


@provider_app.command("run")
def provider_run(
    task: Annotated[int, typer.Option(min=1, help="The task to work on.")],
    keystore: KeystoreOpt = None,
    deployment: DeploymentOpt = None,
    rpc: RpcOpt = None,
    state_dir: StateDirOpt = None,
    ipfs_repo: IpfsRepoOpt = None,
    data: Annotated[
        Path | None,
        typer.Option(help="Your data, .npz (arrays x, y) or .csv (label last); or --dataset."),
    ] = None,
    dataset: Annotated[
        BundledOpt | None, typer.Option(help=_DATASET_HELP + " Take one with --part.")
    ] = None,
    part: Annotated[
        str | None, typer.Option(help="With --dataset: take part I of N, e.g. 2/5.")
    ] = None,
    partition: Annotated[
        PartitionName, typer.Option(help="With --dataset: how the N parts are drawn.")
    ] = "iid",
    alpha: Annotated[
        float, typer.Option(help="Dirichlet concentration (smaller: more skewed labels).")
    ] = 0.5,
    partition_seed: Annotated[
        int, typer.Option(help="Seed of the partition (the same for all N parts).")
    ] = 0,
    epochs: Annotated[int, typer.Option(help="Local epochs per round.")] = 1,
    batch_size: Annotated[int, typer.Option(help="Minibatch size.")] = 32,
    lr: Annotated[float, typer.Option(help="Learning rate (SGD).")] = 0.05,
    seed: Annotated[
        int | None, typer.Option(help="Training seed (default: derived from your address).")
    ] = None,
    wait: Annotated[
        bool,
        typer.Option(
            help="Wait for the task to be published instead of failing when it is unknown "
            "(round 1 opens at publication: a provider started early is ready for it)."
        ),
    ] = False,
    serve: Annotated[
        bool,
        typer.Option(help="After the task closes, keep serving your updates until Ctrl-C."),
    ] = False,
    fetch_timeout: FetchTimeoutOpt = None,
    parents: Annotated[
        int, typer.Option(min=1, max=8, help="Dag: parents per update (the task caps it).")
    ] = 2,
    walk_alpha: Annotated[
        float,
        typer.Option(
            min=0,
            help="Dag: bias of the tip-selection walk toward well-scored updates (0: uniform).",
        ),
    ] = 20.0,
    publish_if_better: Annotated[
        bool,
        typer.Option(
            help="Dag: publish only models that beat their parents' merge on a held-out "
            "split of your data."
        ),
    ] = True,
    held_out: Annotated[
        float, typer.Option(help="Dag: share of your data held out for publish-if-better.")
    ] = 0.2,
    rotate_held_out: Annotated[
        bool,
        typer.Option(
            help="Dag: a fresh held-out split per attempt, so every sample gets trained on "
            "(--no-rotate-held-out: one fixed split, never trained on)."
        ),
    ] = True,
    staleness_beta: Annotated[
        float | None,
        typer.Option(
            min=0,
            help="Dag: dampen stale parents by exp(-beta * levels behind the freshest) "
            "(Kardam-style; default off).",
        ),
    ] = None,
) -> None:
    """Train on your data and submit updates until the task closes: each round of a
    federation task, or at your own pace on tips you select in a dag task."""
    _setup_logging()
    dag_options = {
        "alpha": "--walk-alpha",
        "parents": "--parents",
        "held_out_fraction": "--held-out",
        "staleness_beta": "--staleness-beta",
    }
    with _clear_errors("dag options", dag_options):
        from ledgerlearn.flows.dag.updates import DagSettings

        dag = DagSettings(
            parents=parents,
            alpha=walk_alpha,
            publish_if_better=publish_if_better,
            held_out_fraction=held_out,
            rotate_held_out=rotate_held_out,
            staleness_beta=staleness_beta,
        )
    with _clear_errors("partition", {"alpha": "--alpha"}):
        source = _provider_source(data, dataset, part, partition, alpha)

        from ledgerlearn.agents.provider import Provider
        from ledgerlearn.errors import AgentError
        from ledgerlearn.training import TrainingConfig

        training = TrainingConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed or 0)
        agent = _Agent(keystore, deployment, rpc, state_dir, ipfs_repo, fetch_timeout)
        if seed is None:  # distinct providers start from distinct minibatch orders
            training = training.model_copy(update={"seed": int(agent.account.address[2:10], 16)})
        try:
            with agent.session("PROVIDER") as session:
                participant = session.participant
                if wait and task not in participant.index.tasks:
                    console.print(f"waiting for task {task} to be published")
                    session.run(
                        lambda: False, until=lambda: task in participant.index.tasks, poll_s=POLL_S
                    )
                record = participant.task(task)
                if record.closed:
                    raise AgentError(f"task {task} is closed")
                session.peering.refresh()
                spec = participant.spec(task)
                local = source(spec, partition_seed)
                display = _TrainingDisplay(participant, task)
                provider = Provider(
                    participant, task, local, training, on_progress=display, dag=dag
                )
                provider.check()
                session.register_peer()
                from ledgerlearn.core.rules import Flow

                is_dag = record.flow is Flow.DAG
                console.print(
                    f"provider {session.address} on task {task}: {len(local)} samples "
                    f"({local.name}), {_count(training.epochs, 'epoch')} per "
                    + ("update (dag)" if is_dag else "round")
                )
                watch: Callable[[], None]
                if is_dag:
                    watch = _DagWatch(participant, task, only=session.address)
                else:
                    watch = _ProviderWatch(participant, task)
                with display:
                    session.run(
                        provider.step,
                        until=lambda: participant.task(task).closed,
                        on_sync=watch,
                        poll_s=POLL_S,
                    )
                console.print(_closed_line(participant, task))
                if serve:
                    console.print("serving your updates until Ctrl-C")
                    try:
                        session.serve_forever()
                    except KeyboardInterrupt:
                        pass
                    return
        except KeyboardInterrupt:
            err.print(f"[bold yellow]interrupted[/] before task {task} closed")
            raise typer.Exit(code=130) from None


def _provider_source(
    data: Path | None,
    dataset: str | None,
    part: str | None,
    partition: str,
    alpha: float,
) -> Callable[[ModelSpec, int], Dataset]:
    """Check the data options now; the data are loaded once the task's spec is known."""
    _one_of(data, dataset, "--data FILE and --dataset NAME")
    if data is not None and part is not None:
        raise typer.BadParameter("--part applies to --dataset, not --data")
    if data is None and part is None:
        raise typer.BadParameter("--dataset needs --part I/N (which of N parts is yours)")
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", part or "1/1")
    if match is None or not 1 <= int(match[1]) <= int(match[2]):
        raise typer.BadParameter(f"{part!r}: expected I/N with 1 <= I <= N, e.g. 2/5")
    index, count = int(match[1]), int(match[2])

    import dataclasses

    from ledgerlearn.data import DirichletPartitioner, IidPartitioner, ShardPartitioner, load_file

    if data is not None:
        path = data

        def from_file(spec: ModelSpec, _: int) -> Dataset:
            return load_file(path, num_classes=spec.num_classes, input_shape=spec.input_shape)

        return from_file
    partitioner: IidPartitioner | DirichletPartitioner | ShardPartitioner
    if partition == "dirichlet":
        partitioner = DirichletPartitioner(alpha=alpha)
    elif partition == "shard":
        partitioner = ShardPartitioner()
    else:
        partitioner = IidPartitioner()
    name = str(dataset)

    def from_bundled(spec: ModelSpec, seed: int) -> Dataset:
        pool, _ = _bundled(name, spec)
        mine = pool.partition(partitioner, count, seed=seed)[index - 1]
        return dataclasses.replace(mine, name=f"{name} part {index}/{count}, {partition}")

    return from_bundled


class _TrainingDisplay:
    """A progress bar of local training on a terminal; a line per epoch otherwise."""

    def __init__(self, participant: Participant, task_id: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.participant = participant
        self.task_id = task_id
        self.live = console.is_terminal
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}"),
            console=console,
            transient=True,
        )
        self.bar: TaskID | None = None

    def __enter__(self) -> _TrainingDisplay:
        if self.live:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live:
            self.progress.stop()

    def __call__(self, p: TrainingProgress) -> None:
        task = self.participant.task(self.task_id)
        rounds = task.rounds
        number = max(rounds) if rounds else 0
        what = f"round {number}" if rounds else "dag update"
        if not self.live:
            if p.end_of_epoch:
                console.print(f"{what}: epoch {p.epoch}/{p.epochs}, loss {p.epoch_loss:.4f}")
            return
        total = p.epochs * p.batches
        done = (p.epoch - 1) * p.batches + p.batch
        if p.epoch == 1 and p.batch == 1:
            if self.bar is not None:
                self.progress.remove_task(self.bar)
            self.bar = self.progress.add_task(what, total=total, loss=0.0)
        assert self.bar is not None
        self.progress.update(
            self.bar,
            completed=done,
            loss=p.epoch_loss,
            description=f"{what} epoch {p.epoch}/{p.epochs}",
        )
        if done == total:
            self.progress.remove_task(self.bar)
            self.bar = None


class _ProviderWatch:
    """Prints what happens to this provider's updates and the task's rounds, once each."""

    def __init__(self, participant: Participant, task_id: int) -> None:
        self.participant = participant
        self.task_id = task_id
        self.seen: set[tuple[object, ...]] = set()

    def _once(self, key: tuple[object, ...], line: str) -> None:
        if key not in self.seen:
            self.seen.add(key)
            console.print(line)

    def __call__(self) -> None:
        from ledgerlearn.core.rules import Status

        p = self.participant
        task = p.task(self.task_id)
        me = p.address
        if me in task.providers:
            self._once(("joined",), f"task {self.task_id}: joined")
        mine = {u.round: u for u in task.updates.values() if u.provider == me}
        for number, record in sorted(task.rounds.items()):
            update = mine.get(number)
            if update is not None:
                self._once(
                    (number, "submitted"),
                    f"round {number}: submitted {update.cid} ({update.num_samples} samples)",
                )
                if update.status in (Status.ACCEPTED, Status.REJECTED):
                    self._once(
                        (number, "decided"),
                        f"round {number}: update {update.status.name.lower()} "
                        f"({len(update.scores)} scores)",
                    )
            elif record.result_hash is None and _submissions_closed(task, number, p.head):
                more = "; waiting for the next round" if number < task.params.max_rounds else ""
                self._once(
                    (number, "missed"),
                    f"round {number}: submissions closed before an update was ready{more}",
                )
            if record.result_hash is not None:
                self._once(
                    (number, "final"),
                    f"round {number}: finalized ({len(record.accepted)} of "
                    f"{len(record.updates)} updates accepted)",
                )


# --- validator run ----------------------------------------------------------------------------


@validator_app.command("run")
def validator_run(
    keystore: KeystoreOpt = None,
    deployment: DeploymentOpt = None,
    rpc: RpcOpt = None,
    state_dir: StateDirOpt = None,
    ipfs_repo: IpfsRepoOpt = None,
    fetch_timeout: FetchTimeoutOpt = None,
    until_closed: Annotated[
        int | None,
        typer.Option(min=1, help="Exit once this task is closed (default: run until Ctrl-C)."),
    ] = None,
) -> None:
    """Register your IPFS address and encryption key, then score updates and attest aggregates
    of every task whose committee you sit on, until Ctrl-C (or --until-closed)."""
    _setup_logging()
    with _clear_errors():
        from ledgerlearn.agents.validator import Validator

        agent = _Agent(keystore, deployment, rpc, state_dir, ipfs_repo, fetch_timeout)
        try:
            with agent.session("VALIDATOR") as session:
                participant = session.participant
                validator = Validator(participant, agent.account.key)
                validator.register(session.peer_address)
                console.print(
                    f"validator {session.address}: IPFS node {session.peer_address} and "
                    "encryption key registered"
                )
                watch = _ValidatorWatch(participant, validator.scored)

                def step() -> bool:
                    try:
                        return validator.step()
                    finally:
                        watch.scores()

                def until() -> bool:
                    if until_closed is None:
                        return False
                    task = participant.index.tasks.get(until_closed)
                    return task is not None and task.closed

                session.run(step, until=until, on_sync=watch, poll_s=POLL_S)
                console.print(f"task {until_closed} closed")
        except KeyboardInterrupt:
            console.print("validator stopped")


class _ValidatorWatch:
    """Prints each score this validator computed, each update the other members decided
    before its score, and each attestation it sent, once."""

    def __init__(self, participant: Participant, scored: list[ScoreRecord]) -> None:
        self.participant = participant
        self.scored = scored
        self.printed = 0
        self.passed: set[bytes] = set()
        self.attested: set[tuple[int, int]] = set()

    def _where(self, task_id: int, update: bytes) -> tuple[str, str]:
        task = self.participant.index.tasks.get(task_id)
        record = task.updates.get(update) if task is not None else None
        if record is None:
            return f"task {task_id}", ""
        return f"task {task_id} round {record.round}", f" from {record.provider}"

    def scores(self) -> None:
        """One line per new :class:`~ledgerlearn.agents.validator.ScoreRecord`."""
        from ledgerlearn.core.rules import SCORE_INVALID, from_fixed

        for record in self.scored[self.printed :]:
            where, origin = self._where(record.task_id, record.update)
            value = (
                f"invalid ({record.reason})"
                if record.score == SCORE_INVALID
                else f"{from_fixed(record.score):+.4f}"
                + (f" ({record.reason})" if record.reason else "")
            )
            console.print(f"{where}: scored {_short(record.update)}{origin}: {escape(value)}")
        self.printed = len(self.scored)

    def __call__(self) -> None:
        from ledgerlearn.core.rules import Status

        self.scores()
        me = self.participant.address
        mine = {record.update for record in self.scored}
        for task in self.participant.index.tasks.values():
            if me not in task.params.committee:
                continue
            for update in task.updates.values():
                decided = update.status in (Status.ACCEPTED, Status.REJECTED)
                if not decided or me in update.scores or update.update in mine | self.passed:
                    continue
                self.passed.add(update.update)
                where, origin = self._where(task.task_id, update.update)
                console.print(
                    f"{where}: {_short(update.update)}{origin} was "
                    f"{update.status.name.lower()} by the other members before my score"
                )
            for number, record in task.rounds.items():
                for proposal in record.proposals.values():
                    if me in proposal.attesters and (task.task_id, number) not in self.attested:
                        self.attested.add((task.task_id, number))
                        console.print(
                            f"task {task.task_id} round {number}: attested aggregate {proposal.cid}"
                        )
