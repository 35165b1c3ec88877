"""Terminology: MVC value sets, designations, national mappings (tables in ncp.store)."""
