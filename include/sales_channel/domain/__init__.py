"""The order domain: typed Amazon orders, per-store settings, the creation rules, and the mapping of an
Amazon order to a Commerce order. Pure Python (no I/O, no Airflow): every rule here is unit-testable."""
