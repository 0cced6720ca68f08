"""An organisation's setup bundle: what it needs to join a consortium from its own host.

``ledgerlearn consortium init`` writes one bundle per founding organisation, a folder with:

- ``bundle.json``: the organisation's name, account and roles; the chain's RPC URL, chain id
  and genesis hash; the deployment (every contract's address); the keccak-256 of every
  contract's runtime code, so that ``join`` recognises the consortium's contracts and not a
  look-alike at the same addresses on another chain;
- ``swarm.key``: the consortium's private IPFS swarm key (a secret shared by the members).

Nothing of one organisation is in another's bundle, and no bundle holds a private account key:
each organisation makes its own (``ledgerlearn account new``) and gives its address to the
founders. :func:`check_bundle` is what ``join`` checks against the chain it reaches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ledgerlearn import strict_json
from ledgerlearn.chain.backend import Chain
from ledgerlearn.chain.deployment import Deployment
from ledgerlearn.errors import ChainResetError, ConfigError
from ledgerlearn.storage.swarm_key import SWARM_KEY_FILE, SwarmKey

__all__ = ["BUNDLE_FILE", "Bundle", "check_bundle", "code_hashes", "read_bundle", "write_bundle"]

BUNDLE_FILE = "bundle.json"
Role = Literal["PUBLISHER", "PROVIDER", "VALIDATOR"]


class Bundle(BaseModel):
    """``bundle.json`` (strict: an unknown or missing field is an error that names it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal[1] = 1
    organisation: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    account: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    roles: tuple[Role, ...]
    rpc_url: str = Field(min_length=1)
    deployment: dict[str, str | int]
    code_hashes: dict[str, str] = Field(
        description="keccak-256 of each contract's runtime code, by artifact name"
    )

    def as_deployment(self) -> Deployment:
        """The deployment the bundle names."""
        try:
            return Deployment(**self.deployment)  # type: ignore[arg-type]
        except TypeError as exc:
            raise ConfigError(f"bundle.json: deployment: {exc}") from exc


def code_hashes(chain: Chain, deployment: Deployment) -> dict[str, str]:
    """keccak-256 of the runtime code at each of the deployment's addresses, by contract."""
    named: dict[str, str] = {
        "Consortium": deployment.consortium,
        "LearningLedger": deployment.ledger,
    }
    named.update((str(name), address) for name, address in deployment.satellites().items())
    return {
        name: "0x" + keccak(bytes(chain.w3.eth.get_code(address))).hex()  # type: ignore[arg-type]
        for name, address in named.items()
    }


def write_bundle(folder: Path, bundle: Bundle, swarm_key: SwarmKey) -> None:
    """Write an organisation's bundle folder (``bundle.json`` and ``swarm.key``)."""
    folder.mkdir(parents=True, exist_ok=True)
    strict_json.write_file(folder / BUNDLE_FILE, bundle.model_dump(mode="json"), indent=2)
    swarm_key.write(folder / SWARM_KEY_FILE)


def read_bundle(folder: Path) -> tuple[Bundle, SwarmKey]:
    """Read a bundle folder.

    Raises
    ------
    ConfigError
        Naming the file and what is wrong with it.
    """
    path = folder / BUNDLE_FILE
    if not path.is_file():
        raise ConfigError(f"{folder} is not a bundle: it has no {BUNDLE_FILE}")
    try:
        bundle = Bundle.model_validate(strict_json.load_file(path))
    except ValueError as exc:  # strict_json's and pydantic's (ValidationError is a ValueError)
        detail = _first_problem(exc) if isinstance(exc, ValidationError) else str(exc)
        raise ConfigError(f"{path}: {detail}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    try:
        key = SwarmKey.load(folder / SWARM_KEY_FILE)
    except Exception as exc:  # StorageError: a missing or malformed key file
        raise ConfigError(str(exc)) from None
    return bundle, key


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "the document"
    return f"{where}: {error['msg']}"


def check_bundle(chain: Chain, bundle: Bundle) -> Deployment:
    """Check that ``chain`` is the consortium the bundle describes: its chain id, its genesis
    block and the code of every contract. Returns the deployment.

    Raises
    ------
    ChainResetError
        Naming the first difference.
    """
    deployment = bundle.as_deployment()
    deployment.check(chain)  # chain id, genesis, code present
    found = code_hashes(chain, deployment)
    for name, expected in bundle.code_hashes.items():
        if found.get(name) != expected:
            raise ChainResetError(
                f"the {name} code at its address is not the consortium's (keccak "
                f"{found.get(name)}, the bundle says {expected}): another chain or contract"
            )
    missing = sorted(set(found) - set(bundle.code_hashes))
    if missing:
        raise ChainResetError(f"the bundle names no code hash for {', '.join(missing)}")
    return deployment
