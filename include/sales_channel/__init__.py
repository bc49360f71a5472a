"""Amazon Sales Channel order processing for Adobe Commerce.

The core (everything but ``sales_channel.airflow``) never imports Airflow: it is usable from a script
and fast to test.
"""

__version__ = "0.1.0"
