"""Renditions for people: HTML in the reader's language, level 1 PDF and its L1 CDA."""
