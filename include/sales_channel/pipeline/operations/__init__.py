"""Operations a person asks for (the manual DAGs, or a script): re-import orders, resolve a quarantined
order. Each works through the import's own machinery (``pipeline.importing``), so exactly once holds,
and ends with an ``OperationReport``: a readable summary and an event on each order it touched.

``requests`` checks what was asked (the rules between a form's fields) and is light enough for DAG
files to import; ``reimport`` and ``resolve_quarantine`` do the work; ``report`` tells what came of it.
"""
