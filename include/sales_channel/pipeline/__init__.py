"""The pipelines' work, independent of Airflow: import, status sync, reconciliation, reporting.

Each takes its clients and the channel store as arguments, so the same code runs in an Airflow task,
a script, a benchmark or a test.
"""
