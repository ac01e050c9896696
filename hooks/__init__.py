"""The git hook shims that ``git tokens install`` copies into a repository (shipped as package data)."""
