"""Experiment harness: run agents (in one process or as separate processes), collect results
from the chain, write reports with tables and plots."""
