"""Reconciliation: Amazon's order report vs Commerce's orders vs our links, quarantine and outbox.

``frames`` holds the column contracts of the inputs (and the report's conversion), ``compare`` the pure,
vectorised classification into findings with their planned repairs. Both import pandas at module top:
this package is for tasks and scripts, never imported while a DAG file is parsed.
"""
