-- Run once by the postgres image when its data volume is first created (as POSTGRES_USER, who owns it):
-- the channel database lives beside Airflow's metadata database, never inside it.
CREATE DATABASE sales_channel;
