"""The pure core: the rules the contracts enforce, mirrored, and the maths of both flows.

Nothing here imports chain, storage, agent, HTTP or CLI code (import-linter's ``pure-core``
contract in pyproject.toml): every function is tested without a chain or a node.
"""
