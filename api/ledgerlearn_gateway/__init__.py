"""The ledgerlearn REST gateway and web dashboard (FastAPI).

:func:`ledgerlearn_gateway.app.create_app` builds the application; ``ledgerlearn gateway``
serves it with uvicorn. Reads come from a :class:`~ledgerlearn.chain.index.LedgerIndex` the
gateway keeps in step with the chain; writes are signed by the caller's Ethereum key
(:mod:`ledgerlearn_gateway.auth`); publications are relayed with the publisher's EIP-712
signature (:mod:`ledgerlearn_gateway.publications`).

The source folder is ``api/``; the installed import name is ``ledgerlearn_gateway`` (not a
generic ``api`` in site-packages).
"""
