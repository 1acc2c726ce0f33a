"""The exceptions papersift raises on purpose, in one hierarchy.

Every one of them says, in `str(e)`, what happened and what to do, in one line: a command
catches `PapersiftError`, prints the message and exits non-zero; anything else is a bug and
keeps its traceback.

    PapersiftError
    ├── ConfigError          settings, papersift.toml, provider/model/key setup   (ValueError)
    ├── InputError           something the user gave cannot be used               (ValueError)
    │   ├── InvalidArxivId   a string that holds no arXiv id
    │   ├── FormatError      a file that cannot be read in the requested/detected format
    │   └── RecordError      one record a source returned cannot be used
    ├── HttpError            a request that failed for good, after retries        (RuntimeError)
    ├── EnrichError          enrichment of one paper or day failed
    │   ├── LLMError         a model request that failed for good                 (RuntimeError)
    │   ├── PayloadError     the model's answer is not acceptable                 (ValueError)
    │   ├── AffiliationError a paper's affiliations could not be read            (RuntimeError)
    │   └── ReadingUnavailable  no reading can be made for that day              (RuntimeError)
    ├── EmbedderError        an embedder cannot be used here                      (RuntimeError)
    ├── StoreError           the store cannot do what was asked                   (RuntimeError)
    └── SearchError / SearchUnavailable  the API's search processes               (RuntimeError)

The standard base in parentheses is the one each class had before this hierarchy existed,
kept so that `except ValueError` / `except RuntimeError` written against them still works.
The classes stay importable from the modules that raise them (`papersift.config.ConfigError`,
`papersift.http.HttpError`, `papersift.enrich.llm.LLMError`, ...).
"""

from __future__ import annotations


class PapersiftError(Exception):
    """Base of every error papersift raises on purpose; `str(e)` is the message for the user."""


class ConfigError(PapersiftError, ValueError):
    """Bad configuration: the message names the file/variable and what to do."""


class InputError(PapersiftError, ValueError):
    """Something the user gave (an argument, a date, a query, an id, a file, a record) cannot
    be used; the message names it and says what would be accepted."""


class InvalidArxivId(InputError):
    """Raised when a string holds no recognisable arXiv id."""


class FormatError(InputError):
    """The file as a whole cannot be read in the requested/detected format."""


class RecordError(InputError):
    """One record a source returned cannot be used. The message names the record."""


class HttpError(PapersiftError, RuntimeError):
    """A request that failed for good. `str(e)` is a one-line message for the user."""

    def __init__(self, message: str, url: str, status: int | None = None):
        super().__init__(message)
        self.url = url
        self.status = status


class EnrichError(PapersiftError):
    """Enriching a paper (or writing a day's reading) failed; a run records it and goes on."""


class LLMError(EnrichError, RuntimeError):
    """A request that failed for good (after retries, or not retryable)."""

    def __init__(self, message: str, calls: int = 0):
        super().__init__(message)
        self.calls = calls  # HTTP attempts spent on it (they may still be billed)


class PayloadError(EnrichError, ValueError):
    """The model's answer is not acceptable; the message is sent back in the repair call."""


class AffiliationError(EnrichError, RuntimeError):
    """This paper's affiliations could not be read (the run goes on)."""


class ImageError(PapersiftError, RuntimeError):
    """This paper's image could not be made (broken PDF, no figure...): the run goes on."""


class ReadingUnavailable(EnrichError, RuntimeError):
    """No reading can be made (no LLM configured, or no paper that day)."""


class EmbedderError(PapersiftError, RuntimeError):
    """An embedder cannot be used here; the message says what to install or change."""


class StoreError(PapersiftError, RuntimeError):
    """The store cannot do what was asked (locked, unsupported backend, damaged file)."""


class SearchError(PapersiftError, RuntimeError):
    """The search itself failed (a bug), or a search process could not start: the server
    answers 500."""


class SearchUnavailable(PapersiftError, RuntimeError):
    """No search process could answer in time (dying, restarting): the server answers 503."""


__all__ = [
    "AffiliationError", "ConfigError", "EmbedderError", "EnrichError", "FormatError", "HttpError",
    "ImageError", "InputError", "InvalidArxivId", "LLMError", "PapersiftError", "PayloadError",
    "ReadingUnavailable", "RecordError", "SearchError", "SearchUnavailable", "StoreError",
]
