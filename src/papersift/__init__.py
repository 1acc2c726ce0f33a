"""papersift: collect, enrich, search and publish ML/AI research papers."""

__version__ = "0.1.0"
