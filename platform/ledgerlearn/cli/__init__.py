"""The ``ledgerlearn`` command: one module per command group, put together here.

- :mod:`~ledgerlearn.cli.chain`: ``devnet``, ``account``, ``chain`` (devnet, keys, deployment);
- :mod:`~ledgerlearn.cli.publish`, :mod:`~ledgerlearn.cli.provider`,
  :mod:`~ledgerlearn.cli.validator`: the members' agents (``publish``, ``provider run``,
  ``validator run``), with what they share in :mod:`~ledgerlearn.cli.agent` (the agent's
  setup), :mod:`~ledgerlearn.cli.inputs` (spec, weights, data), :mod:`~ledgerlearn.cli.options`
  (the policy's options) and :mod:`~ledgerlearn.cli.watch` (what they print as the task runs);
- :mod:`~ledgerlearn.cli.dag`: ``dag tips`` and ``dag consensus`` (read-only);
- :mod:`~ledgerlearn.cli.data`: ``data check`` (a data file against a task's model);
- :mod:`~ledgerlearn.cli.model`: ``model get/evaluate/predict/card/verify`` (a task's learned
  model, read-only), with :mod:`~ledgerlearn.cli.reader` (the read-only commands' client and
  IPFS reader);
- :mod:`~ledgerlearn.cli.gateway` and :mod:`~ledgerlearn.cli.api_client`: ``gateway`` (serve
  the REST gateway) and ``api ...`` (its client);
- :mod:`~ledgerlearn.cli.lab` and :mod:`~ledgerlearn.cli.bench`: ``demo``, ``simulate`` and
  ``bench ...`` (runs and benchmarks that write reports).

The command groups import the heavy libraries (torch, web3) inside their commands, so
``--help`` stays fast. :mod:`~ledgerlearn.cli.common` holds the consoles, the one-line
``error:`` and the shared options.
"""

from __future__ import annotations

import typer

from ledgerlearn.cli import lab
from ledgerlearn.cli.api_client import api_app
from ledgerlearn.cli.bench import bench_app
from ledgerlearn.cli.chain import account_app, chain_app, devnet_app
from ledgerlearn.cli.consortium import consortium_app
from ledgerlearn.cli.council import council_app
from ledgerlearn.cli.dag import dag_app
from ledgerlearn.cli.data import data_app
from ledgerlearn.cli.gateway import gateway
from ledgerlearn.cli.model import model_app
from ledgerlearn.cli.provider import provider_app
from ledgerlearn.cli.publish import publish
from ledgerlearn.cli.rewards import rewards_app
from ledgerlearn.cli.validator import validator_app

__all__ = ["app"]

app = typer.Typer(
    name="ledgerlearn",
    help="Permissioned-ledger coordinated learning.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(devnet_app, name="devnet")
app.add_typer(account_app, name="account")
app.add_typer(chain_app, name="chain")
app.add_typer(consortium_app, name="consortium")
app.add_typer(council_app, name="council")
app.command("publish")(publish)
app.add_typer(rewards_app, name="rewards")
app.add_typer(provider_app, name="provider")
app.add_typer(validator_app, name="validator")
app.add_typer(dag_app, name="dag")
app.add_typer(data_app, name="data")
app.add_typer(model_app, name="model")
app.command("gateway")(gateway)
app.add_typer(api_app, name="api")
app.command("demo")(lab.demo)
app.command("simulate")(lab.simulate_command)
app.add_typer(bench_app, name="bench")
