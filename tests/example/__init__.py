"""The example project: its newsfeed page, its demo command, the runnable project's settings."""
