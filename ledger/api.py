"""The library facade: one ``Ledger`` per SQLite file.

Every append runs in one ``BEGIN IMMEDIATE`` transaction: read the record's events, fold them
into its state, validate and plan, insert the event, and rewrite that record's view rows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, TypeVar

from ledger.core.clock import Clock, rfc3339, utc_now
from ledger.core.events import Event
from ledger.core.progress import Progress
from ledger.errors import LedgerError, RefusedInput, VerificationError
from ledger.model.contracts import record_id as checked_record_id
from ledger.model.state import RecordState, fold, fold_record
from ledger.ops import verification
from ledger.ops.batch import AppendResult, Batch, Carry, record_id_of
from ledger.ops.bulk import DEFAULT_BATCH, BulkResult, append_lines
from ledger.ops.editor import checked_events, unknown_record, with_the_digits
from ledger.storage import store, views
from ledger.storage.views import Shown

T = TypeVar("T")

if TYPE_CHECKING:  # the rest is imported where it is used, to keep CLI start-up fast
    from ledger.core.checkpoint import Checkpoint
    from ledger.core.note import Signer, Verifier
    from ledger.core.policy import Policy
    from ledger.model.verify import VerifyReport
    from ledger.ops.audit import AuditReport
    from ledger.ops.maintenance import Rebuilt
    from ledger.ops.proofs import Inclusion
    from ledger.ops.purge import PurgeResult
    from ledger.ops.tiles import TilesResult
    from ledger.ops.witnessing import Witnessed
    from ledger.pages.importer import PageOutcome
    from ledger.pages.site import SiteResult


def _opened(notes: Sequence[str], verifier: Verifier) -> list[Checkpoint]:
    """Return the signed checkpoints of ``notes`` (each signature checked), each once, smallest
    first."""
    from ledger.core.checkpoint import open_checkpoint

    opened = {open_checkpoint(note, verifier) for note in notes}
    return sorted(opened, key=lambda c: (c.size, c.root))


def default_actor() -> str:
    """Return the OS user name, or ``unknown`` when there is none."""
    try:
        return getpass.getuser() or "unknown"
    except (KeyError, OSError):
        return "unknown"



@dataclasses.dataclass(frozen=True)
class Rehearsal:
    """What a ``--dry-run`` would have done: the head before and after, and every record it
    would change, as (record_id, status, version, correction_count)."""

    head_before: int
    head_after: int
    records: list[tuple[str, str, int, int]]

    @property
    def events(self) -> int:
        return self.head_after - self.head_before


class Ledger:
    """An open ledger file."""

    def __init__(self, conn: sqlite3.Connection, path: Path, clock: Clock = utc_now,
                 signer: Signer | None = None) -> None:
        self.conn, self.path, self.clock, self.signer = conn, path, clock, signer
        self._carry: Carry | None = None  # what the last committed submit knew (see Carry)

    @classmethod
    def create(cls, path: Path | str, clock: Clock = utc_now, admin: Signer | None = None,
               event_format: int = store.FORMAT_VERSION) -> Ledger:
        """Create a new ledger file (refuses an existing one) and return it open.

        With ``admin``, the ledger requires signatures: its first event adds the admin key.
        ``event_format`` 1 makes a ledger of the first format (it cannot purge).
        """
        path = Path(path)
        if event_format not in (1, 2):
            raise RefusedInput(f"event format {event_format}: this version writes formats 1 and 2")
        conn = store.create(path, rfc3339(clock()), event_format)
        with store.write_transaction(conn):
            views.create_views(conn)
            views.set_applied(conn, *store.head(conn))
            if admin is not None:
                from ledger.core.note import verifier_key
                from ledger.model.keyring import key_record_id

                batch = Batch(conn, clock, admin)
                batch.add_key("key.added", {"record_id": key_record_id(admin.key_id),
                                            "name": admin.name, "vkey": verifier_key(admin),
                                            "role": "admin", "reason": "ledger created"})
                batch.flush()
        return cls(conn, path, clock, admin)

    @classmethod
    def open(cls, path: Path | str, clock: Clock = utc_now, signer: Signer | None = None) -> Ledger:
        """Open an existing ledger file (``signer`` signs what this handle appends)."""
        path = Path(path)
        return cls(store.open_ledger(path), path, clock, signer)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- appending ---------------------------------------------------------------------------

    def submit(self, contract: str, raw: Any, actor: str | None = None,
               guard: bool = False, dry_run: bool = False) -> AppendResult:
        """Validate and append one payload; return the event, or a no-op for a re-send.
        ``guard``: an editor's command (refuse a repeated status notice, give warnings);
        ``dry_run``: do all of it in a transaction that is rolled back, and return the event it
        would append with the record's state it would give."""
        carry, self._carry = self._carry, None  # dropped unless this commits
        if dry_run:
            return self._dry_run(contract, raw, actor, guard)
        with store.write_transaction(self.conn) as conn:
            batch = Batch(conn, self.clock, self.signer, carry)
            result = batch.add(contract, raw, actor or default_actor(), guard)
            batch.flush()
        self._carry = batch.carry()
        return result

    def _dry_run(self, contract: str, raw: Any, actor: str | None, guard: bool) -> AppendResult:
        with store.rehearsal(self.conn) as conn:
            batch = Batch(conn, self.clock, self.signer)
            result = batch.add(contract, raw, actor or default_actor(), guard)
            batch.flush()
            state = batch.state(result.record_id)
            return dataclasses.replace(
                result, dry_run=True, state=views.show_of(state) if state is not None else None)

    def rehearse(self, body: Callable[[Ledger], T]) -> tuple[T, Rehearsal]:
        """Run ``body(self)`` with every write it makes rolled back at the end (``--dry-run``
        of a bulk command): return what it returned, and what it would have changed."""
        self._carry = None
        before = store.head(self.conn)[0]
        try:
            with store.rehearsal(self.conn):
                out = body(self)
                found = Rehearsal(before, store.head(self.conn)[0],
                                  views.changed_since(self.conn, before))
        finally:
            self._carry = None
        return out, found

    def purge(self, notice: dict[str, Any], actor: str | None = None,
              fields: tuple[str, ...] = (),
              rewriting: Callable[[int], None] | None = None) -> PurgeResult:
        """Issue a removal notice and withhold the record's earlier content (``ops.purge``);
        ``rewriting`` is told the file's bytes before the file is rewritten."""
        from ledger.ops.purge import purge
        self._carry = None
        return purge(self.conn, self.clock, self.signer, notice, actor or default_actor(), fields,
                     rewriting)

    def event_format(self) -> int:
        """Return the ledger's event format (1 or 2)."""
        return store.event_format(self.conn)

    def change_key(self, type_: str, vkey: str, role: str = "writer",
                   reason: str | None = None) -> AppendResult:
        """Add (``key.added``) or revoke (``key.revoked``) an actor key; needs an admin signer."""
        from ledger.core.note import parse_verifier
        from ledger.model.keyring import key_record_id

        verifier = parse_verifier(vkey)
        payload: dict[str, Any] = {"record_id": key_record_id(verifier.key_id),
                                   "name": verifier.name, "vkey": vkey.strip(), "role": role}
        if reason:
            payload["reason"] = reason
        with store.write_transaction(self.conn) as conn:
            batch = Batch(conn, self.clock, self.signer)
            result = batch.add_key(type_, payload)
            batch.flush()
        return result

    def keys(self) -> list[dict[str, Any]]:
        """Return the keyring: every key ever added, with when it was added or revoked."""
        from ledger.ops.batch import load_keyring

        keyring = load_keyring(self.conn)
        return [{"name": k.name, "key_id": f"{kid:08x}", "role": k.role, "added_seq": k.added_seq,
                 "revoked_seq": k.revoked_seq, "in_force": k.revoked_seq is None}
                for kid, k in sorted(keyring.keys.items(), key=lambda kv: kv[1].added_seq)]

    def append_jsonl(self, lines: IO[bytes], actor: str | None = None,
                     batch_size: int = DEFAULT_BATCH,
                     progress: Progress | None = None) -> BulkResult:
        """Append JSON Lines in batches (one transaction each); see ``ledger.bulk``."""
        return append_lines(self.conn, self.clock, lines, actor or default_actor(), batch_size,
                            progress, self.signer)

    # -- reading -----------------------------------------------------------------------------

    def head(self) -> tuple[int, str]:
        """Return (seq, hash) of the last event."""
        return store.head(self.conn)

    def state(self, record_id: str, upto: int | None = None) -> RecordState | None:
        """Return a record's state folded from its events (optionally as of seq ``upto``);
        None for no record (the keyring's ``KEY:`` ids are none)."""
        return fold_record(store.record_events(self.conn, self.known(record_id), upto))

    def known(self, record_id: str) -> str:
        """Return the normalised record id; raise RefusedInput if it is malformed (naming the
        records whose digits it is, when it is only the 8 hex digits)."""
        try:
            return checked_record_id(record_id)
        except RefusedInput as exc:
            raise with_the_digits(self.conn, exc, record_id) from None

    def show(self, record_id: str, as_of: int | None = None, which: str | None = None) -> Shown:
        """Return the current state of a record (the ``show`` object), folded from its events:
        the rows ``verify`` checks, never the views, which only SQL readers use; with ``as_of``,
        its state after that seq (what a reader was shown then, but for content purged since;
        ``which``: how a refusal names that seq, ``the last event recorded by 2026-06-01``)."""
        return self._folded(record_id, as_of, which)[0]

    def show_each(self, record_ids: Sequence[str]) -> list[Shown]:
        """Return ``show``'s object of each record (ids as stored), all read in one snapshot,
        the table's seqs counted once (a feed's notices: one count of a large table each
        would cost more than the rest)."""
        shown = []
        with store.read_snapshot(self.conn) as conn:
            span = store.seq_span(conn)
            for rid in record_ids:
                state = fold_record(checked_events(conn, rid, "show", span))
                if state is None:
                    raise unknown_record(conn, rid)
                shown.append(views.show_of(state))
        return shown

    def _folded(self, record_id: str, as_of: int | None,
                which: str | None) -> tuple[Shown, list[Event], int]:
        """Return ``show``'s object, the record's events up to that seq and the head's seq, all
        read in one snapshot (a page's state, history and note agree)."""
        from ledger.ops.export import head_as_of

        rid = self.known(record_id)
        with store.read_snapshot(self.conn) as conn:
            upto, _ = head_as_of(conn, as_of)
            head = upto if as_of is None else store.head(conn)[0]
            events = checked_events(conn, rid, "show")
            then = [e for e in events if e.seq <= upto]
            state = fold_record(then)
        if state is None and events:
            named = f" ({which})" if which else ""
            raise RefusedInput(f"{rid} was first published at seq {events[0].seq}, after seq "
                               f"{upto}{named}: it had no state then")
        if state is None:
            raise unknown_record(self.conn, rid)
        return views.show_of(state), then, head

    def seq_recorded_by(self, moment: str, before: bool = False) -> int:
        """Return the seq of the last event recorded at or before ``moment`` (strictly before
        it with ``before``; RFC 3339, UTC, as ``recorded_at`` is written); 0 if none was."""
        return store.last_seq_recorded_by(self.conn, moment, before)

    def recorded_after(self, upto: int, moment: str) -> int:
        """Return how many events up to seq ``upto`` were recorded after ``moment`` (a clock
        that went back puts them before the last event recorded by it)."""
        return store.recorded_after(self.conn, upto, moment)

    def record_ids_starting(self, start: str, most: int = 200) -> list[str]:
        """Return up to ``most`` ids of records that start with ``start``, in order (what a
        shell completes a record id with)."""
        return store.record_ids_starting(self.conn, start, most)

    def history(self, record_id: str) -> list[Event]:
        """Return every event of a record, oldest first."""
        rid = self.known(record_id)
        with store.read_snapshot(self.conn) as conn:  # the links and leaves of the same events
            events = checked_events(conn, rid, "show the history of")
        if not events:
            raise unknown_record(self.conn, rid)
        return events

    def events(self, since: int = 0, upto: int | None = None) -> Iterator[Event]:
        """Yield the events with since < seq <= upto, in seq order."""
        return store.iter_events(self.conn, since, upto)

    def events_back(self, since: int = 0, upto: int | None = None) -> Iterator[Event]:
        """Yield the events with since < seq <= upto, newest first."""
        return store.iter_events_back(self.conn, since, upto)

    def checked(self, events: Iterable[Event]) -> Iterator[Event]:
        """Yield ``events`` (of this ledger, in seq order), each checked before it is yielded:
        an event edited behind the ledger's back raises VerificationError (``checked_log``)."""
        from ledger.ops.editor import checked_log
        return checked_log(self.conn, events)

    def records(self, status: str | None = None, tier: str | None = None,
                level: str | None = None, checking: Progress | None = None,
                progress: Progress | None = None) -> Iterator[Shown]:
        """Yield the show object of every record that matches (``list``), by record id, in one
        read snapshot: the log is verified first (``editor.list_records``)."""
        from ledger.ops.editor import list_records
        with store.read_snapshot(self.conn) as conn:
            yield from list_records(conn, status, tier, level, checking, progress)

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """Hold one read transaction over the body: every read through the connection it gives
        sees the file as it was when the body began (a check, then what relies on it)."""
        with store.read_snapshot(self.conn) as conn:
            yield conn

    def count(self) -> int:
        """Return the number of stored events."""
        return store.count_events(self.conn)

    # -- verification and maintenance ----------------------------------------------------------

    def verify(self, progress: Progress | None = None) -> VerifyReport:
        """Return the chain verification report."""
        with store.read_snapshot(self.conn) as conn:
            return verification.verify_stored(conn, progress)

    def audit(self, progress: Progress | None = None,
              kept: verification.Kept | None = None) -> AuditReport:
        """Return the audit report (verify, rules, views, tiers); with ``kept``, failed unless
        the log extends it too."""
        from ledger.ops.audit import audit, full_text_findings
        with store.read_snapshot(self.conn) as conn:
            report = audit(conn, progress, kept)
        report.findings.extend(full_text_findings(self.conn))
        return report

    def audit_checkpoints(self, notes: Sequence[str], verifier: Verifier,
                          progress: Progress | None = None
                          ) -> tuple[AuditReport, list[Checkpoint]]:
        """Return the audit report, failed unless the log extends every signed checkpoint
        (each once, smallest first)."""
        checkpoints = _opened(notes, verifier)
        return self.audit(progress, verification.kept_checkpoints(checkpoints)), checkpoints

    def audit_extends(self, old: Ledger, progress: Progress | None = None,
                      old_progress: Progress | None = None) -> AuditReport:
        """Return the audit report, failed unless the log extends ``old``, an earlier copy of
        this ledger (refused if that copy does not verify itself)."""
        with store.read_snapshot(old.conn) as old_conn:
            return self.audit(progress, verification.kept_copy(old_conn, old_progress))

    def verify_extends(self, old: Ledger, progress: Progress | None = None,
                       old_progress: Progress | None = None) -> VerifyReport:
        """Return the verify report, failed unless the log extends ``old``, an earlier copy of
        this ledger (refused if that copy does not verify itself; ``old_progress`` counts its
        events as they are verified)."""
        with store.read_snapshot(self.conn) as conn, store.read_snapshot(old.conn) as old_conn:
            return verification.verify_kept(conn, verification.kept_copy(old_conn, old_progress),
                                            progress)

    def verify_extends_head(self, seq: int, head_hash: str, name: str,
                            progress: Progress | None = None) -> VerifyReport:
        """Return the verify report, failed unless the log extends the head ``name`` (an
        export) was made at: seq ``seq`` with hash ``head_hash``."""
        with store.read_snapshot(self.conn) as conn:
            return verification.verify_kept(conn, verification.kept_head(seq, head_hash, name),
                                            progress)

    def audit_extends_head(self, seq: int, head_hash: str, name: str,
                           progress: Progress | None = None) -> AuditReport:
        """Return the audit report, failed unless the log extends the head ``name`` (an
        export) was made at."""
        return self.audit(progress, verification.kept_head(seq, head_hash, name))

    def verify_checkpoint(self, note: str, verifier: Verifier,
                          progress: Progress | None = None) -> tuple[VerifyReport, Checkpoint]:
        """Return the verify report, failed unless the log extends the signed checkpoint."""
        report, (checkpoint,) = self.verify_checkpoints([note], verifier, progress)
        return report, checkpoint

    def verify_checkpoints(self, notes: Sequence[str], verifier: Verifier,
                           progress: Progress | None = None
                           ) -> tuple[VerifyReport, list[Checkpoint]]:
        """Return the verify report, failed unless the log extends every signed checkpoint
        (in one pass over the log; each checkpoint once, smallest first)."""
        checkpoints = _opened(notes, verifier)
        with store.read_snapshot(self.conn) as conn:
            return (verification.verify_kept(conn, verification.kept_checkpoints(checkpoints),
                                             progress), checkpoints)

    def checkpoint(self, signer: Signer, progress: Progress | None = None,
                   since_signed: bool = False,
                   accept: Callable[[Checkpoint], object] | None = None) -> tuple[str, bool]:
        """Sign and store a checkpoint of the whole log; return (note, whether it is new).
        ``since_signed``: verify only what came after the last checkpoint this key signed;
        ``accept``: may refuse the checkpoint before it is signed or stored (``sign_checkpoint``)."""
        from ledger.ops.proofs import sign_checkpoint
        with store.write_transaction(self.conn) as conn:
            return sign_checkpoint(conn, signer, rfc3339(self.clock()), progress,
                                   since_signed=since_signed, accept=accept)

    def witnessed_checkpoint(self, signer: Signer, policy: Policy,
                             progress: Progress | None = None,
                             accept: Callable[[Checkpoint], object] | None = None) -> Witnessed:
        """Sign a checkpoint of the whole log, submit it to the policy's witnesses, and store it
        with their cosignatures if they meet the policy's quorum (else raise QuorumError,
        storing nothing). The witnesses are asked outside any write transaction, and only once
        ``accept`` took the checkpoint."""
        from ledger.core.note import Verifier, sign_note
        from ledger.core.policy import QuorumError, open_cosigned
        from ledger.ops.proofs import checkpoint_of_note, sign_checkpoint, store_cosigned
        from ledger.ops.witnessing import Witnessed, describe, gather

        with store.read_snapshot(self.conn) as conn:
            note, _ = sign_checkpoint(conn, signer, rfc3339(self.clock()), progress, store_it=False,
                                      accept=accept)
            note = sign_note(signer, note.split("\n\n", 1)[0] + "\n")  # the log's line alone
            checkpoint = checkpoint_of_note(note)
            cosigned, outcomes = gather(conn, note, checkpoint, policy)
        own = Verifier(signer.name, signer.key_id, signer.key.public_key())
        try:
            open_cosigned(cosigned, policy, own)
        except QuorumError as exc:
            raise QuorumError(f"{exc}; nothing was stored. " + "; ".join(describe(outcomes)),
                              exc.cosigned) from None
        with store.write_transaction(self.conn) as conn:
            stored = store_cosigned(conn, cosigned, rfc3339(self.clock()))
        return Witnessed(cosigned, stored, describe(outcomes))

    def prove(self, seq: int, size: int | None = None) -> Inclusion:
        """Return the inclusion proof of event ``seq`` (tree of ``size``, default the head)."""
        from ledger.ops.proofs import prove
        with store.read_snapshot(self.conn) as conn:
            return prove(conn, seq, size)

    def consistency(self, old: int, new: int | None = None) -> dict[str, Any]:
        """Return the consistency proof between two tree sizes."""
        from ledger.ops.proofs import consistency
        with store.read_snapshot(self.conn) as conn:
            return consistency(conn, old, new)

    def bundle(self, record_id: str, note: str,
               checking: Progress | None = None) -> dict[str, Any]:
        """Return the bundle of a record against a signed checkpoint note. The whole log is
        verified first (``checking`` counts its events), as ``export`` verifies it: the
        record's own events cannot show that one of them was given another record id, and a
        bundle without that notice would verify offline all the same."""
        from ledger.ops.bundle import make_bundle
        from ledger.ops.proofs import checkpoint_of_note
        rid = self.known(record_id)
        checkpoint = checkpoint_of_note(note)
        with store.read_snapshot(self.conn) as conn:
            if checkpoint.size > store.head(conn)[0]:
                raise VerificationError(checkpoint.size, f"the checkpoint commits to "
                                        f"{checkpoint.size} events but the log has fewer")
            checked_events(conn, rid, "bundle")  # not a bundle its reader would find broken
            verification.verified(conn, f"refusing to bundle {rid}", checking)
            return make_bundle(conn, rid, note, checkpoint)

    def import_pages(self, pages: Iterable[tuple[str, bytes]], actor: str | None = None,
                     batch_size: int = 500, progress: Progress | None = None) -> list[PageOutcome]:
        """Import record pages (source name, bytes), taken a batch at a time; see
        ``ledger.pages.importer``."""
        from ledger.pages.importer import import_pages
        if batch_size < 1:
            raise RefusedInput("--batch-size must be at least 1")
        return import_pages(self.conn, self.clock, pages, actor or default_actor(), batch_size,
                            progress, self.signer)

    def render(self, record_id: str, fmt: str = "text", as_of: int | None = None,
               which: str | None = None) -> str:
        """Return a record's public page (text, md or html), folded from its events; with
        ``as_of``, the page after that seq (its state and, in html, its history then), its
        first line saying so (and ``which`` event that seq is, if given)."""
        from ledger.pages.render import render_markdown, render_text
        from ledger.pages.text import as_of_note
        from ledger.pages.webpage import render_html
        renderers = {"text": render_text, "md": render_markdown}
        if fmt != "html" and fmt not in renderers:
            raise RefusedInput(f"unknown format {fmt!r} (use text, md or html)")
        shown, events, head = self._folded(record_id, as_of, which)
        note = as_of_note(as_of, head, which)
        if fmt == "html":
            return render_html(shown, events, note)
        return renderers[fmt](shown, note)

    def site(self, out: Path, note: str | None = None, verifier_key: str | None = None,
             progress: Progress | None = None, full: bool = False,
             policy: Policy | None = None, checking: Progress | None = None,
             verified: bool = False) -> SiteResult:
        """Write the static site into ``out``; with a checkpoint, pages embed their bundles
        (and with ``policy``, require its witness quorum in the browser; the checkpoint must
        meet it now). ``checking`` counts the events verified before a build of every page;
        ``verified``: the caller has just verified the log (signing the checkpoint), so it is
        not verified again."""
        from ledger.core.checkpoint import open_checkpoint
        from ledger.core.note import parse_verifier
        from ledger.core.policy import open_cosigned
        from ledger.ops.files import check_folder
        from ledger.pages.site import SiteResult, policy_json, write_site
        signed, embedded = None, ""
        if note is not None and verifier_key is not None:
            verifier = parse_verifier(verifier_key)
            signed = (note, open_checkpoint(note, verifier), verifier_key.strip())
            if policy is not None:
                open_cosigned(note, policy, verifier)
                embedded = policy_json(policy)
        check_folder(out, "the site")  # `/dev/null` said "File exists"
        with store.read_snapshot(self.conn) as conn:
            if signed is not None and signed[1].size > store.head(conn)[0]:
                raise VerificationError(signed[1].size, "the checkpoint commits to more events "
                                        "than the log has: the log was truncated")
            try:
                writer = write_site(conn, out, signed, progress, full, embedded, checking,
                                    verify=not verified)
            except OSError as exc:
                raise RefusedInput(f"cannot write the site to {out}: {exc.strerror or exc}") from None
        return SiteResult(writer.records, writer.written, writer.unchanged, writer.removed)

    def tiles(self, out: Path, signer: Signer | None = None, note: str | None = None,
              progress: Progress | None = None, writing: Progress | None = None) -> TilesResult:
        """Write the log as C2SP tiles into ``out`` (``ops.tiles``), for a checkpoint signed now
        by ``signer`` (the log is verified first) or the given checkpoint ``note`` (the log must
        verify and extend it). ``progress`` counts the events verified, ``writing`` the events
        whose entries are written."""
        from ledger.model.verify import check_extends
        from ledger.ops.files import check_folder
        from ledger.ops.proofs import checkpoint_of_note
        from ledger.ops.tiles import check_published, write_tiles
        if (signer is None) == (note is None):
            raise RefusedInput("give --key FILE (sign a checkpoint now) or --checkpoint FILE")
        stored = False
        if signer is not None:  # the log since the last checkpoint this key signed is verified
            check_folder(out, "the tiles")  # refused before a checkpoint is signed and stored
            note, stored = self.checkpoint(signer, progress, since_signed=True,
                                           accept=lambda new: check_published(out, new))
        assert note is not None
        checkpoint = checkpoint_of_note(note)
        with store.read_snapshot(self.conn) as conn:
            if signer is None:
                report = verification.verify_stored(conn, progress, capture={checkpoint.size})
                if not report.ok:
                    raise report.failure("the log does not verify")
                check_extends(report, checkpoint)
            try:
                return dataclasses.replace(write_tiles(conn, out, note, checkpoint, writing),
                                           stored=stored)
            except OSError as exc:
                raise RefusedInput(f"cannot write the tiles to {out}: {exc.strerror or exc}") from None

    def count_records(self) -> int:
        """Return the number of records (for a progress bar's total)."""
        return store.count_records(self.conn, store.head(self.conn)[0])

    def rebuild(self, progress: Progress | None = None, drop: bool = False) -> Rebuilt:
        """Rebuild the views from the events, writing the records whose rows differ (``drop``:
        drop the view tables and write every row); return what was done."""
        from ledger.ops.maintenance import rebuild
        return rebuild(self.conn, progress, drop=drop)

    def export(self, out: BinaryIO, fmt: str = "json", as_of: int | None = None,
               progress: Progress | None = None, since: int | None = None,
               checking: Progress | None = None) -> dict[str, Any]:
        """Write the snapshot to ``out`` (``since``: only the records changed after that seq);
        return its header. The log is verified first (``checking`` counts its events), and an
        export of a log that does not verify is refused before a byte is written."""
        from ledger.ops.export import snapshot, write_export
        with store.read_snapshot(self.conn) as conn:
            header, records = snapshot(conn, as_of, progress, since, checking)
            write_export(out, fmt, header, records, conn)
        return header


__all__ = ["AppendResult", "BulkResult", "Ledger", "LedgerError", "default_actor", "fold",
           "record_id_of"]
