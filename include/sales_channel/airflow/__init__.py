"""The Airflow adapters: hooks, connection types, task bodies. The only package that imports Airflow."""
