"""`papersift digest`: rank the day for each profile, render it, send it to each channel
once, and record every (profile, day, channel) in the store's send log.

- A channel already `sent` for that day is skipped: a rerun sends nothing.
- A failure is retried with backoff (http.RetryPolicy); after the last try it is recorded as
  `failed` with its reason, and the run goes on with the other channels and profiles (the
  next run tries it again).
- Delivery is at-least-once: the log is written right after the server accepted the
  message, so only a crash between the two can send a digest twice.
- `dry_run`: every digest is written to a folder (.html, .txt, .eml and the chat messages
  as .md) and nothing is sent or recorded.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Settings
from ..errors import ConfigError, PapersiftError
from ..http import RetryPolicy
from ..profiles import Profile, ProfileRanker
from ..site.output import atomic_write
from ..store.base import SendRecord, Store
from .channels import Channel, parse_channel
from .push import AppriseSender, PartFailed, messages_for
from .render import Digest, render_digest
from .smtp import PermanentFailure, SmtpSender, build_message

Say = Callable[[str], None]
DEFAULT_RETRY = RetryPolicy(attempts=3, backoff=2.0, max_backoff=30.0)
PUSH_THREADS = 4  # apprise deliveries at once (each channel is its own server)


def _quiet(_: str) -> None:
    pass


@dataclass
class DigestReport:
    day: dt.date
    profiles: int = 0
    sent: int = 0  # (profile, channel) deliveries made now
    messages: int = 0  # messages they took (e-mails + chat parts)
    skipped: int = 0  # already sent before
    empty: int = 0  # profiles with nothing above their threshold (nothing sent)
    failed: list[str] = field(default_factory=list)  # "profile -> channel: reason"
    written: list[str] = field(default_factory=list)  # dry-run files
    bytes: int = 0  # e-mail bytes sent or written
    seconds: float = 0.0

    def summary(self) -> str:
        if self.written:
            return (f"digest {self.day}: {self.profiles} profiles rendered to {len(self.written)} files "
                    f"(dry run, nothing sent) in {self.seconds:.1f}s")
        return (f"digest {self.day}: {self.profiles} profiles, {self.sent} sent ({self.messages} "
                f"messages), {self.skipped} already sent, {self.empty} empty, {len(self.failed)} failed "
                f"in {self.seconds:.1f}s")


class _Senders:
    """One SMTP connection and one apprise sender per channel for a whole run."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._smtp: SmtpSender | None = None
        self._push: dict[str, AppriseSender] = {}
        self._lock = threading.Lock()

    def smtp(self) -> SmtpSender:
        if self._smtp is None:
            self._smtp = SmtpSender(self.settings)
        return self._smtp

    def push(self, ch: Channel) -> AppriseSender:
        with self._lock:  # several push threads
            if ch.target not in self._push:
                self._push[ch.target] = AppriseSender(ch)
            return self._push[ch.target]

    def close(self) -> None:
        if self._smtp is not None:
            self._smtp.close()


def _deliver(senders: _Senders, d: Digest, ch: Channel, retry: RetryPolicy,
             sleep: Callable[[float], None]) -> tuple[int, int, int, str]:
    """(attempts, messages, bytes, reason): reason is "" when it went out."""
    reason = ""
    done = 0  # chat parts already sent: a retry sends only the rest
    parts: list[str] | None = None
    for attempt in range(1, retry.attempts + 1):
        try:
            if ch.kind == "email":
                smtp = senders.smtp()
                smtp.send(d, ch.target)
                return attempt, 1, len(d.html) + len(d.text), ""
            push = senders.push(ch)
            parts = parts if parts is not None else push.messages(d)
            while done < len(parts):
                done += push.send(d, parts, done)
            return attempt, len(parts), sum(len(p) for p in parts), ""
        except (ConfigError, PermanentFailure) as e:  # another try cannot help
            return attempt, 0, 0, str(e)
        except PartFailed as e:
            done, reason = e.sent, str(e)
        except Exception as e:  # network, server: worth another try
            reason = f"{type(e).__name__}: {e}".strip()[:500]
        if attempt < retry.attempts:
            sleep(retry.delay(attempt))
    return retry.attempts, 0, 0, reason


def _dry_run(out: Path, d: Digest, settings: Settings, channels: list[Channel]) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{d.profile}-{d.day.isoformat()}"
    files = {f"{stem}.html": d.html.encode("utf-8"), f"{stem}.txt": d.text.encode("utf-8")}
    sender = settings.smtp_from or f"papersift@{settings.smtp_host or 'localhost'}"
    for ch in channels:
        if ch.kind == "email":
            files[f"{stem}.eml"] = build_message(d, sender, ch.target)
    chat = [c for c in channels if c.kind == "apprise"]
    if chat or not channels:
        limit = min((AppriseSender(c).limit for c in chat), default=4000)
        files[f"{stem}.md"] = "\n\n---\n\n".join(messages_for(d, limit)).encode("utf-8")
    for name, data in files.items():
        atomic_write(out / name, data)
    return [str(out / n) for n in files]


@dataclass
class _Job:
    profile: str
    channel: Channel
    papers: int
    future: Future[tuple[int, int, int, str]]


def send_digests(store: Store, settings: Settings, profiles: list[Profile], day: dt.date, *,
                 base_dir: Path, dry_run: Path | None = None, retry: RetryPolicy = DEFAULT_RETRY,
                 sleep: Callable[[float], None] = time.sleep, on_line: Say = _quiet,
                 ranker: ProfileRanker | None = None) -> DigestReport:
    """Digests of `day` for `profiles`. Ranking and rendering run here while deliveries run
    beside them: e-mail on one thread (one SMTP connection, in order), apprise channels on a
    few more, so a channel that is down and being retried delays no other channel."""
    t0 = time.perf_counter()
    rep = DigestReport(day)
    ranker = ranker or ProfileRanker(store, settings, base_dir)
    log = store.sends_for(day) if dry_run is None else {}
    senders = _Senders(settings)
    jobs: list[_Job] = []
    reported = 0  # jobs counted in rep so far

    def deliver(prof: str, d: Digest, ch: Channel) -> tuple[int, int, int, str]:
        res = _deliver(senders, d, ch, retry, sleep)
        attempts, n, _, reason = res
        store.record_send(SendRecord(prof, day, ch.label, "failed" if reason else "sent",
                                     attempts=attempts, parts=n, reason=reason))
        return res

    def report(upto: int) -> None:
        """Count and announce finished deliveries, in the order they were queued."""
        nonlocal reported
        while reported < upto and jobs[reported].future.done():
            j = jobs[reported]
            reported += 1
            attempts, n, size, reason = j.future.result()
            if reason:
                rep.failed.append(f"{j.profile} -> {j.channel.label}: {reason} (after {attempts} tries)")
                on_line(f"digest {j.profile} -> {j.channel.label}: FAILED after {attempts} tries: {reason}")
            else:
                rep.sent += 1
                rep.messages += n
                rep.bytes += size
                on_line(f"digest {j.profile} -> {j.channel.label}: sent ({n} message{'s' * (n != 1)}, "
                        f"{j.papers} papers)")

    mail = ThreadPoolExecutor(1, thread_name_prefix="digest-mail")
    push = ThreadPoolExecutor(PUSH_THREADS, thread_name_prefix="digest-push")
    try:
        for prof in profiles:
            report(len(jobs))
            channels: list[Channel] = []
            for spec in prof.channels:
                try:
                    channels.append(parse_channel(spec, f"profile {prof.name!r}"))
                except ConfigError as e:  # this channel cannot go out; the others still do
                    rep.failed.append(str(e))
                    on_line(f"digest {prof.name}: {e}")
            if dry_run is None and not channels:
                continue
            todo = [c for c in channels if getattr(log.get((prof.name, c.label)), "status", "") != "sent"]
            rep.profiles += 1
            rep.skipped += len(channels) - len(todo)
            if dry_run is None and not todo:
                continue
            rd = ranker.rank(prof, day)
            if dry_run is None and not rd.ranking.kept:
                rep.empty += 1
                on_line(f"digest {prof.name}: nothing above min_score {prof.min_score} on {day}; not sent")
                continue
            ids = [r.paper.id for r in rd.ranking.kept]
            d = render_digest(rd, store.get_enrichments(ids), settings.site_url, settings.site_title)
            if dry_run is not None:
                rep.written += _dry_run(dry_run, d, settings, channels)
                continue
            for ch in todo:
                pool = mail if ch.kind == "email" else push
                jobs.append(_Job(prof.name, ch, len(d.items), pool.submit(deliver, prof.name, d, ch)))
        wait([j.future for j in jobs])
        report(len(jobs))
    finally:
        mail.shutdown(wait=True)
        push.shutdown(wait=True)
        senders.close()
    rep.seconds = time.perf_counter() - t0
    return rep


def digest_day(store: Store, day: dt.date | None) -> dt.date:
    """The day a digest is for: the given one, else the newest day in the store."""
    if day is not None:
        return day
    days = store.days()
    if not days:
        raise PapersiftError("the store holds no days yet: collect or import papers first")
    return days[-1][0]
