"""The static site: daily pages, archive, weekly/monthly top, topics, papers, feeds."""

from .build import BuildResult, build_site

__all__ = ["BuildResult", "build_site"]
