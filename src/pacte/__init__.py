"""Pacte: an open hub for sharing threat intelligence between agencies, fairly and without leaks."""

__version__ = "0.1.0"
