"""The package's management commands, through ``call_command``."""
