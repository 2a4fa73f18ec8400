"""The settings of a site with a hot standby (yoursite/settings.py, the parts that change)."""

DATABASES = {
    "default": {  # the primary
        "ENGINE": "django.db.backends.postgresql",
        "HOST": "db-primary.internal",
        "NAME": "yoursite",
        "USER": "yoursite",
    },
    "replica": {  # a streaming hot standby of it
        "ENGINE": "django.db.backends.postgresql",
        "HOST": "db-standby.internal",
        "NAME": "yoursite",
        "USER": "yoursite",
        # An unreachable standby costs at most this much before the primary takes its reads.
        "OPTIONS": {"connect_timeout": 2},
    },
}
DATABASE_ROUTERS = ["entity_event.db.replicas.ReplicaRouter"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After a person's write, their next requests read from the primary for a few seconds.
    "entity_event.middleware.ReadYourWritesMiddleware",
]
ENTITY_EVENT_READ_YOUR_WRITES_SECONDS = 5  # longer than the standby's usual lag
ENTITY_EVENT_REPLICA_RETRY_SECONDS = 30
