"""The email settings of docs/delivery.rst for Django 6.1 and later, checked by
tests/project/test_docs_examples.py."""

import os

MAILERS = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": "smtp.example.com",
            "port": 587,
            "use_tls": True,
            "username": "mailer",
            "password": os.environ["SMTP_PASSWORD"],
        },
    }
}
DEFAULT_FROM_EMAIL = "Yoursite <notifications@example.com>"
