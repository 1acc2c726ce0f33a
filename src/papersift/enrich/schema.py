"""What one enrichment call asks for and how its answer is checked.

The prompt, the JSON schema sent as structured output, tolerant JSON extraction for providers
without it, and validation (schema, taxonomy tags, exactly one emoji, the review really is in
its language, length bounds). Everything the model wrote is untrusted until `validate_payload`
accepted it.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

import regex

from .. import taxonomy
from ..errors import PayloadError
from ..model import Paper, Review

# Bump when the prompt or the schema changes: cached answers of an older prompt are stale.
PROMPT_VERSION = "enrich-v1"

LANG_NAMES = {"en": "English", "ru": "Russian", "zh": "Chinese (Simplified)"}
SUPPORTED_LANGS = tuple(LANG_NAMES)

# Length bounds in characters: (title min, title max, review min, review max).
_BOUNDS = {"en": (8, 160, 120, 1400), "ru": (8, 180, 120, 1600), "zh": (4, 80, 40, 600)}
MAX_TAGS = 8


def system_prompt(languages: list[str]) -> str:
    langs = ", ".join(f"{code} ({LANG_NAMES[code]})" for code in languages)
    return (
        "Task: enrich\n"
        "You are an expert ML researcher writing a daily digest of research papers. Read the "
        "paper and return ONE JSON object and nothing else, with these fields:\n"
        '- "emoji": exactly one emoji that reflects the theme of the paper;\n'
        '- "tags": 1 to 6 topic names from the taxonomy below that the paper is directly '
        "about (use the names exactly as written, lower-case, without '#');\n"
        f"- for each language in [{langs}]: an object keyed by the language code with "
        '"title" (a catchy slogan of the main idea, one line) and "review" (about 4 '
        "sentences explaining the paper with correct machine learning terms; in Russian and "
        "Chinese keep English technical terms and model names as they are).\n"
        "Write each review in its own language: Russian in Cyrillic, Chinese in Chinese "
        "characters.\n\nTaxonomy:\n" + taxonomy.prompt_list()
    )


def user_prompt(paper: Paper, languages: list[str]) -> str:
    parts = [f"Languages: {', '.join(languages)}", f"Title: {paper.title}",
             f"Abstract: {paper.abstract or '(none)'}"]
    if paper.ai_summary:
        parts.append(f"Summary: {paper.ai_summary}")
    if paper.ai_keywords:
        parts.append(f"Keywords: {', '.join(paper.ai_keywords)}")
    return "\n".join(parts)


def json_schema(languages: list[str]) -> dict[str, Any]:
    """Strict JSON schema (OpenAI `strict: true` rules: every property required, no extras)."""
    review = {"type": "object", "additionalProperties": False,
              "properties": {"title": {"type": "string"}, "review": {"type": "string"}},
              "required": ["title", "review"]}
    props: dict[str, Any] = {
        "emoji": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string", "enum": list(taxonomy.TAG_NAMES)}},
    }
    for code in languages:
        props[code] = review
    return {"type": "object", "additionalProperties": False, "properties": props,
            "required": list(props)}


# -- tolerant extraction ----------------------------------------------------------------

_FENCE = re.compile(r"```(?:json|JSON|python)?\s*(.*?)```", re.S)


def extract_json(text: str) -> Any:
    """The JSON value in a model's text: bare, in a code fence, with prose around it, or
    written as a Python literal (single quotes). Raises PayloadError when there is none."""
    text = text.strip()
    candidates = [m.group(1).strip() for m in _FENCE.finditer(text)] + [text]
    start = text.find("{")
    if start >= 0:
        candidates.append(_balanced(text, start) or text[start:])
    for c in candidates:
        if not c:
            continue
        try:
            return json.loads(c)
        except json.JSONDecodeError:
            pass
        try:
            # Models sometimes answer with a Python dict: literal_eval is safe (no code runs).
            value = ast.literal_eval(c)
            if isinstance(value, dict | list):
                return value
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            pass
    raise PayloadError("the answer is not valid JSON: return one JSON object and nothing else")


def _balanced(text: str, start: int) -> str | None:
    """The {...} object that starts at `start`, respecting strings (drops trailing prose)."""
    depth, in_str, esc, quote = 0, False, False, ""
    for i in range(start, len(text)):
        ch = text[i]
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == quote:
                in_str = False
        elif ch in "\"'":
            in_str, quote = True, ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start:i + 1]
    return None


# -- checks -----------------------------------------------------------------------------

_KEYCAP = regex.compile(r"[0-9#*]\uFE0F?\u20E3")


def is_single_emoji(s: str) -> bool:
    """True when `s` is exactly one emoji (one grapheme cluster that renders as emoji)."""
    s = s.strip()
    clusters = regex.findall(r"\X", s)
    if len(clusters) != 1:
        return False
    g = clusters[0]
    if _KEYCAP.fullmatch(g):
        return True
    if regex.fullmatch(r"\p{Regional_Indicator}{2}", g):
        return True
    first = g[0]
    if regex.match(r"\p{Emoji_Presentation}", first):
        return True
    # Text-default pictographs (e.g. U+2696) count when asked to render as emoji (FE0F).
    return bool(regex.match(r"\p{Extended_Pictographic}", first)) and "\uFE0F" in g


def script_counts(s: str) -> tuple[int, int, int]:
    """(Latin letters, Cyrillic letters, CJK ideographs) in `s`."""
    latin = len(regex.findall(r"\p{Script=Latin}", s))
    cyr = len(regex.findall(r"\p{Script=Cyrillic}", s))
    han = len(regex.findall(r"\p{Script=Han}", s))
    return latin, cyr, han


def check_language(text: str, lang: str) -> str | None:
    """None when `text` is written in `lang`, else why not. English terms inside Russian and
    Chinese text are expected, so the checks are on shares, not on purity."""
    latin, cyr, han = script_counts(text)
    if lang == "ru":
        if cyr < 0.5 * (cyr + latin) or cyr < 20:
            return f"is not Russian (Cyrillic letters {cyr}, Latin {latin})"
    elif lang == "zh":
        # One Han character carries about as much as a 3-4 letter Latin word.
        if han < 0.35 * (han + latin / 3) or han < 10 or cyr > han:
            return f"is not Chinese (Han characters {han}, Latin letters {latin})"
    elif lang == "en" and (cyr + han > 0.05 * (latin + cyr + han) or latin < 20):
        return f"is not English (Latin {latin}, Cyrillic {cyr}, Han {han})"
    return None


def validate_payload(data: Any, languages: list[str]) -> tuple[str, list[str], dict[str, Review]]:
    """Check a parsed answer; return (emoji, tags, reviews) or raise PayloadError listing
    every problem found (so one repair call can fix them all)."""
    if not isinstance(data, dict):
        raise PayloadError("the answer must be a JSON object")
    problems: list[str] = []
    emoji = data.get("emoji")
    if not isinstance(emoji, str) or not is_single_emoji(emoji):
        problems.append(f'"emoji" must be exactly one emoji, got {str(emoji)[:20]!r}')
    tags_raw = data.get("tags")
    tags: list[str] = []
    if not isinstance(tags_raw, list) or not tags_raw:
        problems.append('"tags" must be a non-empty list of taxonomy names')
    else:
        unknown = [str(t)[:40] for t in tags_raw if not isinstance(t, str) or not taxonomy.normalize(t)]
        if unknown:
            problems.append(f'"tags" has names not in the taxonomy: {unknown}; use only listed names')
        tags = taxonomy.normalize_all(t for t in tags_raw if isinstance(t, str))
        if len(tags) > MAX_TAGS:
            problems.append(f'"tags" has {len(tags)} names; give at most {MAX_TAGS}')
    reviews: dict[str, Review] = {}
    for code in languages:
        block = data.get(code)
        if not isinstance(block, dict):
            problems.append(f'"{code}" must be an object with "title" and "review"')
            continue
        title, review = block.get("title"), block.get("review") or block.get("desc")
        if not isinstance(title, str) or not isinstance(review, str):
            problems.append(f'"{code}.title" and "{code}.review" must be strings')
            continue
        title, review = " ".join(title.split()), " ".join(review.split())
        tmin, tmax, rmin, rmax = _BOUNDS[code]
        if not tmin <= len(title) <= tmax:
            problems.append(f'"{code}.title" must be {tmin}-{tmax} characters, has {len(title)}')
        if not rmin <= len(review) <= rmax:
            problems.append(f'"{code}.review" must be {rmin}-{rmax} characters, has {len(review)}')
        for name, text in (("title", title), ("review", review)):
            why = check_language(text, code) if name == "review" or code != "en" else None
            if name == "title" and code == "ru" and why:
                # Short slogans may be mostly a model name; judge titles more leniently.
                latin, cyr, _ = script_counts(text)
                why = None if cyr >= 3 else why
            if name == "title" and code == "zh" and why:
                why = None if script_counts(text)[2] >= 2 else why
            if why:
                problems.append(f'"{code}.{name}" {why}')
        reviews[code] = Review(title=title, review=review)
    if problems:
        raise PayloadError("; ".join(problems))
    return emoji.strip(), tags, reviews  # type: ignore[union-attr]
