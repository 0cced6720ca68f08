"""How facts move: web3.py over the ledgerlearn contracts (in-process EVM, devnet or network)."""
