from sales_channel.airflow.hooks.amazon import AmazonSellingPartnerHook
from sales_channel.airflow.hooks.channel_db import ChannelDatabaseHook
from sales_channel.airflow.hooks.commerce import AdobeCommerceHook

__all__ = ["AdobeCommerceHook", "AmazonSellingPartnerHook", "ChannelDatabaseHook"]
