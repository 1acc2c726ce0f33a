"""Chat and push digests through apprise: Markdown messages, split between papers so each
fits the service's length limit (apprise's own body_maxlen per service, or the channel's
papersift-maxlen)."""

from __future__ import annotations

import logging

from ..errors import ConfigError
from .channels import Channel, split_blocks
from .render import Digest, md_escape

MARGIN = 0.9  # Markdown becomes HTML or text on the way: leave room for the conversion


def _apprise():  # -> module
    try:
        import apprise
    except ImportError as e:
        raise ConfigError("apprise channels need the deliver extra: pip install 'papersift[deliver]'") from e
    return apprise


def messages_for(d: Digest, limit: int) -> list[str]:
    header = f"**{md_escape(d.heading)}**"
    return split_blocks(header, d.markdown_items() or ["Nothing above your threshold today."], limit)


class PartFailed(ConnectionError):
    """Part `sent + 1` of a digest did not go out (the ones before it did)."""

    def __init__(self, sent: int, message: str):
        super().__init__(message)
        self.sent = sent


class AppriseSender:
    """Sends a digest to one apprise URL; `send` raises PartFailed with apprise's own
    reason when a message did not go out."""

    def __init__(self, channel: Channel):
        apprise = _apprise()
        self.apprise = apprise
        plugin = apprise.Apprise.instantiate(channel.target)
        if plugin is None:
            raise ConfigError(f"channel {channel.label}: apprise does not understand this URL "
                              "(see https://github.com/caronc/apprise/wiki)")
        self.plugin = plugin
        self.notifier = apprise.Apprise()
        self.notifier.add(plugin)
        limit = int(getattr(plugin, "body_maxlen", 0) or 4000)
        if channel.max_length:
            limit = min(limit, channel.max_length)
        self.limit = max(200, int(limit * MARGIN))
        self.title_max = int(getattr(plugin, "title_maxlen", 0) or 0)
        self.channel = channel

    def messages(self, d: Digest) -> list[str]:
        return messages_for(d, self.limit)

    def send(self, d: Digest, parts: list[str], start: int = 0) -> int:
        """Send parts[start:]; returns how many went out. A failure raises after the parts
        before it were sent (the caller retries from there)."""
        a = self.apprise
        title = d.subject[: self.title_max] if self.title_max else ""
        n = len(parts)
        for k in range(start, n):
            body = parts[k]
            t = title if k == 0 or not title else f"{title[: max(0, self.title_max - 8)]} ({k + 1}/{n})"
            with a.LogCapture(level=logging.WARNING) as log:
                ok = self.notifier.notify(body=body, title=t, body_format=a.NotifyFormat.MARKDOWN)
            if not ok:
                reason = " ".join(str(log.getvalue()).split())[:300] or "apprise reported a failure"
                raise PartFailed(k, f"part {k + 1}/{n}: {reason}")
        return n - start
