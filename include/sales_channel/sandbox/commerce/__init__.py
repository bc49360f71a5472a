"""Adobe Commerce (Magento 2.4) REST sandbox: ``sales_channel.sandbox.commerce.app:create_app``."""
