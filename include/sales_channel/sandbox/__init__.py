"""Local, faithful stand-ins for Amazon's Selling Partner API and the Adobe Commerce REST API.

They are part of the product: the embedded default of ``make run``, the other side of every contract
and end-to-end test, and the load generator of the benchmarks. Each service is a FastAPI app built by
``create_app(SandboxConfig)``; ``python -m sales_channel.sandbox`` serves both, each in its own process.
"""
