"""Jinja templates for the report renderings (shipped as package data)."""
