# The one image of docker-compose.yaml: every Airflow service and the sandboxes run it. Airflow 3.3.2 with
# this project's pinned requirements and the package installed at build time (_PIP_ADDITIONAL_REQUIREMENTS
# reinstalls at every container start and is for trials only).
FROM apache/airflow:3.3.2

# requirements.txt ends with `-e .`: the package is installed from here, so its files stay in the image.
WORKDIR /opt/sales-channel
COPY --chown=airflow:0 requirements.txt pyproject.toml README.md ./
COPY --chown=airflow:0 include ./include
# airflow-init seeds the stores' settings with make run's own (scripts/run.py `stores`).
COPY --chown=airflow:0 scripts/run.py ./scripts/run.py
RUN pip install --no-cache-dir -r requirements.txt
# Mount points of named volumes (the admin's password, the sandboxes' state) start as the image has them:
# writable by the airflow user and by group 0, so any AIRFLOW_UID can write them.
RUN mkdir -p /opt/airflow/auth /opt/airflow/sandbox-state && chmod g+rwx /opt/airflow/auth /opt/airflow/sandbox-state
WORKDIR /opt/airflow
