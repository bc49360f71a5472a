"""The status sync, both ways: what the merchant does in Commerce reaches Amazon, and what happens on
Amazon reaches Commerce — exactly once by effect, through the outbox.

* ``to_amazon``: Commerce shipments, credit memos and cancellations → outbox rows for Amazon;
* ``shipments``: those rows' confirmShipment calls, with read-back before any re-send;
* ``feeds``: cancellations and refunds batched into one feed per account and type, and followed;
* ``from_amazon``: buyer cancellation requests, Amazon cancellations, shipped orders → Commerce;
* ``commerce_effects``: the Commerce side's cancels, invoices and comments, once each;
* ``sync``: one store's run and one account's feeds, wired together (what the DAG and scripts call).
"""
