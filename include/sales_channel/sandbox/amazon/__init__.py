"""A faithful local stand-in for Amazon's Selling Partner API (Login with Amazon, Orders v2026-01-01,
Orders v0 confirmShipment, Feeds 2021-06-30) with its control API under ``/_sandbox``.

``sales_channel.sandbox.amazon.app:create_app(config)`` builds the ASGI app; see docs/amazon-sandbox.md.
"""
