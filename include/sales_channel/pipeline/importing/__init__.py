"""The import: Amazon orders become Commerce orders, exactly once.

``account`` runs one seller account's window (one search for all its stores, resumable page by page);
``store_importer`` turns one store's orders into Commerce orders; ``stock`` moves their stock once.
"""
