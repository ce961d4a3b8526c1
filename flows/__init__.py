"""The pure interview engine: flow specs as data, loading and validation, the engine, i18n.

Imports nothing from bot/, storage/ or review/ (a test checks it).
"""
