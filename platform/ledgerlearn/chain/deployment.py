"""Deploying the contracts and remembering where they are."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount

from ledgerlearn import strict_json
from ledgerlearn.chain.artifacts import ContractName, load_artifact
from ledgerlearn.chain.backend import Chain
from ledgerlearn.chain.transactor import Transactor
from ledgerlearn.errors import ChainError, ChainResetError

ZERO_ADDRESS = "0x" + "00" * 20
"""A satellite left out: a laboratory ledger (tasks name their committee and open at once)."""

ADMIN_TRANSFER_DELAY_S = 24 * 3600
"""Default delay between starting and accepting an admin transfer (two-step admin)."""


@dataclass(frozen=True)
class Deployment:
    """Where the contracts of one consortium live."""

    chain_id: int
    genesis_hash: str
    consortium: str
    ledger: str
    block_number: int  # the first deployment block: event streams start here
    # A consortium deployment (deploy_consortium) adds its satellites and its council; a
    # laboratory deployment (deploy) has none of them.
    vetting: str | None = None  # TaskVetting: the pool, drawn committees, vetting
    score_commitments: str | None = None  # ScoreCommitments: committed, then revealed scores
    rewards: str | None = None  # RewardEscrow
    reward_token: str | None = None  # TestToken on a devnet (a consortium names its own)
    council: str | None = None  # Council (OZ Governor)
    timelock: str | None = None  # CouncilTimelock: the Consortium's admin
    membership: str | None = None  # MembershipToken: one organisation, one vote
    swarm_keys: str | None = None  # SwarmKeys: the private swarm's key after a removal

    @property
    def governed(self) -> bool:
        """Whether a council governs the consortium (no admin key)."""
        return self.council is not None

    def satellites(self) -> dict[ContractName, str]:
        """The deployed contracts besides the Consortium and the ledger, by artifact name."""
        named: dict[ContractName, str | None] = {
            "TaskVetting": self.vetting,
            "ScoreCommitments": self.score_commitments,
            "RewardEscrow": self.rewards,
            "TestToken": self.reward_token,
            "Council": self.council,
            "CouncilTimelock": self.timelock,
            "MembershipToken": self.membership,
            "SwarmKeys": self.swarm_keys,
        }
        return {name: address for name, address in named.items() if address is not None}

    def save(self, path: Path) -> None:
        """Write the deployment as JSON (a laboratory deployment without the satellites' keys)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {k: v for k, v in asdict(self).items() if v is not None}
        strict_json.write_file(path, document, indent=2)

    @classmethod
    def load(cls, path: Path) -> Deployment:
        """Read a deployment written by :meth:`save`."""
        try:
            return cls(**strict_json.load_file(path))
        except FileNotFoundError as exc:
            raise ChainError(f"no deployment file at {path}: deploy the contracts first") from exc
        except (TypeError, ValueError) as exc:
            raise ChainError(f"{path} is not a ledgerlearn deployment file: {exc}") from exc

    def check(self, chain: Chain) -> None:
        """Fail clearly when the chain is not the one this deployment was made on.

        Raises
        ------
        ChainResetError
            Another chain id or genesis (the devnet was reset), or no code at the addresses.
        """
        if chain.chain_id != self.chain_id:
            raise ChainResetError(
                f"chain id is {chain.chain_id}, the deployment is on {self.chain_id}"
            )
        genesis = "0x" + chain.genesis_hash().hex()
        if genesis != self.genesis_hash:
            raise ChainResetError(
                f"the chain has a new genesis ({genesis}, deployment on {self.genesis_hash}): "
                "it was reset; deploy again"
            )
        named: list[tuple[str, str]] = [
            ("Consortium", self.consortium),
            ("LearningLedger", self.ledger),
        ]
        for name, address in [*named, *self.satellites().items()]:
            if len(chain.w3.eth.get_code(address)) == 0:  # type: ignore[arg-type]
                raise ChainResetError(f"no {name} code at {address}: the chain was reset")


def deploy(
    chain: Chain, admin: LocalAccount, *, admin_delay_s: int = ADMIN_TRANSFER_DELAY_S
) -> Deployment:
    """Deploy the Consortium (``admin`` as its admin) and the LearningLedger bound to it."""
    sender = Transactor(chain, admin)
    consortium, block = _deploy_one(chain, sender, "Consortium", admin_delay_s, admin.address, [])
    ledger, _ = _deploy_one(chain, sender, "LearningLedger", consortium, ZERO_ADDRESS, ZERO_ADDRESS)
    return Deployment(
        chain_id=chain.chain_id,
        genesis_hash="0x" + chain.genesis_hash().hex(),
        consortium=consortium,
        ledger=ledger,
        block_number=block,
    )


def _deploy_one(
    chain: Chain, sender: Transactor, name: ContractName, *args: object
) -> tuple[str, int]:
    artifact = load_artifact(name)
    factory = chain.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = sender.send(factory.constructor(*args))
    address = receipt["contractAddress"]
    if address is None:
        raise ChainError(f"deploying {name} returned no contract address")
    return str(address), int(receipt["blockNumber"])
