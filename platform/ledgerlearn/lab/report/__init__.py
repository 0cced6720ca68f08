"""Run reports: ``report.md``, PNG plots and the raw results of a finished run, and what the
CLI prints about it. :mod:`~ledgerlearn.lab.report.sections` holds what every flow's report
has; :mod:`~ledgerlearn.lab.report.federation` and :mod:`~ledgerlearn.lab.report.dag` each add
their flow's own sections and plots."""
