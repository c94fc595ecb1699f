"""The doors: the ``factdiff`` command line and the Slack app."""
