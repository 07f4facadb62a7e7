"""Supervisor wallboard and agent desktop pages."""
