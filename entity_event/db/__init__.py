"""What differs between databases, in one place: the backends' features the queries depend on
(``backends``), long lists of ids (``id_lists``), bulk writes (``bulk_writes``), the read-only
scope of rendering (``read_only``) and the in-place upgrade of a 3.x database (``upgrade``).
Imports nothing of the app but the models and the bottom modules (``conf``, ``validation``...).
"""
