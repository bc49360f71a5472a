"""Task bodies: what the DAG files' tasks call. Each builds its clients from Airflow connections and
hands them to the Airflow-free pipeline code."""
