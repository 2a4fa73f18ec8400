"""Delivery: getting claimed events out of the process (email, push) without losing any.

``deliver_batch`` claims unseen events of a medium, records a delivery per (event, target) and
sends the due records with a handler (``batches``); ``send_email`` is the handler shipped
(``email``); ``run_delivery`` runs the loop of the ``deliver_entity_events`` command once, until
a batch finds nothing to do, for a task of any task queue (``loop``), and ``tasks`` makes it a
task of Django's tasks framework. What a site uses is importable from here:
``entity_event.delivery.send_email`` is the default handler's dotted path.
"""

from entity_event.delivery.batches import (
    DEFAULT_CHUNK_SIZE,
    Batch,
    BatchReport,
    Handler,
    deliver_batch,
    queue_again,
)
from entity_event.delivery.email import email_address, message_id, send_email
from entity_event.delivery.loop import run_delivery
from entity_event.delivery.recipients import Failures, Recipient, Skip

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "Batch",
    "BatchReport",
    "Failures",
    "Handler",
    "Recipient",
    "Skip",
    "deliver_batch",
    "email_address",
    "message_id",
    "queue_again",
    "run_delivery",
    "send_email",
]
