"""Renamed to enrich/runner.py. This alias is kept only for the modules that still import it
(enrich/commands.py, site/commands.py, papersift/pipeline.py); remove it when they import
papersift.enrich.runner."""

from .runner import demo_step, run_enrich, select_papers

__all__ = ["demo_step", "run_enrich", "select_papers"]
