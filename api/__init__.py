"""The ledgerlearn REST gateway and web dashboard (FastAPI).

:func:`api.app.create_app` builds the application; ``ledgerlearn gateway`` serves it with
uvicorn. Reads come from a :class:`~ledgerlearn.chain.index.LedgerIndex` the gateway keeps in
step with the chain; writes are signed by the caller's Ethereum key (:mod:`api.auth`);
publications are relayed with the publisher's EIP-712 signature (:mod:`api.publications`).
"""
