"""The invoice service: the event-sourced invoice aggregate and its settings."""
