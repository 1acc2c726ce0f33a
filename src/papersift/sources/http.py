"""Moved to papersift/http.py (the LLM client shares its retry policy). This alias is kept
only for the CLI modules that still import it (sources/commands.py, enrich/commands.py,
site/commands.py); remove it when they import papersift.http."""

from ..http import USER_AGENT, BadBody, HttpClient, HttpError, RetryPolicy

__all__ = ["USER_AGENT", "BadBody", "HttpClient", "HttpError", "RetryPolicy"]
