"""ledgerlearn: permissioned-ledger coordinated learning.

Three axes are kept apart: what is computed (pure functions on arrays), the protocol
(flows and agents), and how facts and bytes move (``ledgerlearn.chain`` and
``ledgerlearn.storage``).
"""

__version__ = "0.1.0"
