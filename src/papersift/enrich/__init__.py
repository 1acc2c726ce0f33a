"""Enrichment: one validated LLM call per paper (or the offline enricher), affiliations from
the PDF, and the daily Chinese reading task. Entry points live in runner.py."""
