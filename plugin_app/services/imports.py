"""Switching in: a file from the app a merchant leaves, read, tried (the dry run), applied in the
background with progress, reported, and undone in one action.

    upload   the file is kept in the database in 1 MB chunks (any worker on any host reads it),
             its importer detected at once (a file no importer reads is refused there and then);
             then the dry run is queued.
    analyze  (a job) reads the file row by row (memory stays flat), matches each row to a member
             by the platform's customer id, else by e-mail in any case, stages it grouped by
             member, then plans every member (domain.import_plan) against the books as they
             are: what would be created, changed and left out, and why; totals in points,
             store credit and liability in money. Nothing is written to the books.
    apply    (jobs, one slice of members each, each slice one transaction with the progress it
             makes, so a killed worker resumes where the last slice ended) plans each member again
             and carries the plan out: new members with only credits are written set-based
             (members, balances, entries, lots, codes in a few statements per slice); everyone
             else through the ledger, posting by posting. The report has the dry run's shape.
    revert   (jobs) reverses every posting the import made (reversal entries pointing at what
             they reverse, never deletions) and puts tiers, birthdays and codes back as they were.

Idempotency: every posting's key is the file's digest, its generation (how many earlier imports
of the same file were reverted), the row's line and the posting's place in it. Importing the
same file again plans and changes nothing; after a revert, it can be brought again.

Nothing is e-mailed to shoppers: the import's postings carry Source.IMPORT, which the
notifications and the tier handlers leave alone; tiers are set once, by the import, quietly.
"""
from __future__ import annotations

import codecs
import hashlib
import io
import os
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import BinaryIO, Callable, Iterator
from zoneinfo import ZoneInfo

from ..domain import import_plan as P
from ..domain.errors import InvalidRequest, InvalidState, NotFound
from ..domain.imports import FORMATS, ImportLot, ImportRow, Transaction, UnknownFormat, read
from ..domain.ledger import Asset, Source
from ..domain.money import Money
from ..domain.ports import Clock, SystemClock
from ..domain.reasons import Reason
from ..domain.tiers import window_start
from ..storage.db import Database
from .explain import english
from .ledger import Ledger, _fingerprint

CHUNK = 1 << 20  # bytes of the file per stored chunk
STAGE_BATCH = 5000  # rows read, matched and staged together
# staged rows per apply slice (one transaction); LOYALTY_IMPORT_SLICE_ROWS for operators and tests
SLICE_ROWS = int(os.environ.get("LOYALTY_IMPORT_SLICE_ROWS", "5000"))
REVERT_SLICE = 500  # postings reversed per revert slice
MAX_BYTES = 512 << 20  # the largest file taken (about 5 million rows of a members file)
LISTED = 200  # rows left out, listed by line in the plan and the report


VENDORS = {  # who a format's file comes from, as ledger explanations name it (product names: not translated)
    "smile": "Smile.io", "loyaltylion": "LoyaltyLion", "yotpo": "Yotpo", "rivo": "Rivo",
    "wc_points_rewards": "WooCommerce Points and Rewards", "wployalty": "WPLoyalty",
    "yith": "YITH Points and Rewards", "mycred": "myCRED",
}


def vendor(fmt: str | None) -> str | None:
    """The app a format's file comes from ("Smile.io"); None for our own templates (the ledger
    then says "the previous rewards program": shoppers never read a merchant's file name)."""
    for prefix, name in VENDORS.items():
        if (fmt or "").startswith(prefix):
            return name
    return None


def _digest_prefix(sha: str, generation: int) -> str:
    return f"imp:{sha[:24]}:{generation}"


# -- rows as staged JSON ---------------------------------------------------------------------
def _dt(v: datetime | None) -> str | None:
    return v.isoformat() if v else None


_PLAIN = ("line", "email", "customer_id", "name", "points", "tier", "referral_code", "locale", "reason", "source_id")


def _dump(row: ImportRow) -> dict:
    data = {k: v for k in _PLAIN if (v := getattr(row, k)) is not None}
    if row.mode != "set":
        data["mode"] = row.mode
    if row.credit is not None:
        data["credit"] = str(row.credit)
    if row.birthday:
        data["birthday"] = row.birthday.isoformat()
    if row.lots:
        data["lots"] = [[lot.points, _dt(lot.earned_at), _dt(lot.expires_at)] for lot in row.lots]
    if row.txn:
        tx = row.txn
        data["txn"] = {k: v for k, v in dict(points=tx.points, credit=str(tx.credit) if tx.credit else None,
                                             occurred_at=_dt(tx.occurred_at), expires_at=_dt(tx.expires_at),
                                             txn_id=tx.txn_id, kind=tx.kind, label=tx.label, note=tx.note,
                                             order_id=tx.order_id, status=tx.status).items() if v not in (None, "")}
    if row.problems:
        data["problems"] = [list(p) for p in row.problems]
    return data


def _when(v: str | None) -> datetime | None:
    return datetime.fromisoformat(v) if v else None


def _load(data: dict) -> ImportRow:
    d = dict(data)
    if "credit" in d:
        d["credit"] = Decimal(d["credit"])
    if "birthday" in d:
        d["birthday"] = date.fromisoformat(d["birthday"])
    d["lots"] = tuple(ImportLot(p, _when(e), _when(x)) for p, e, x in d.get("lots", ()))
    if "txn" in d:
        tx = dict(d["txn"])
        tx["credit"] = Decimal(tx.get("credit") or 0)
        tx["occurred_at"], tx["expires_at"] = _when(tx.get("occurred_at")), _when(tx.get("expires_at"))
        d["txn"] = Transaction(**tx)
    d["problems"] = tuple(tuple(p) for p in d.get("problems", ()))
    return ImportRow(**d)


# -- the summary both the dry run and the report are -----------------------------------------
class Summary:
    def __init__(self, data: dict | None = None) -> None:
        self.d = data or {
            "rows": 0, "members": {"create": 0, "change": 0, "unchanged": 0, "unmatched": 0},
            "postings": 0, "replayed": 0,
            "points": {"credited": 0, "debited": 0}, "credit": {"credited": "0", "debited": "0"},
            "tiers": {}, "birthdays": 0, "codes": 0, "left_out": {}, "notes": {}, "lines": [],
        }

    def _count(self, bucket: str, key: str, line: int, who: str) -> None:
        self.d[bucket][key] = self.d[bucket].get(key, 0) + 1
        if len(self.d["lines"]) < LISTED:
            self.d["lines"].append([line, who, key])

    def add(self, plan: P.GroupPlan, *, exists: bool, rows: int, who: str) -> None:
        d = self.d
        d["rows"] += rows
        d["members"]["create" if not exists else "change" if plan.changes else "unchanged"] += 1
        d["postings"] += len(plan.ops)
        d["replayed"] += plan.replayed
        for op in plan.ops:
            side = "credited" if op.direction == "earn" else "debited"
            if op.asset == "points":
                d["points"][side] += int(op.amount)
            else:
                d["credit"][side] = str(Decimal(d["credit"][side]) + Decimal(op.amount))
        if plan.tier:
            d["tiers"][plan.tier] = d["tiers"].get(plan.tier, 0) + 1
        d["birthdays"] += plan.birthday is not None
        d["codes"] += plan.code is not None
        for line, outcome in plan.skipped:
            self._count("left_out", outcome, line, who)
        for line, note in plan.notes:
            self._count("notes", note, line, who)

    def unmatched(self, lines: list[int], outcome: str, who: str) -> None:
        self.d["rows"] += len(lines)
        self.d["members"]["unmatched"] += 1
        for line in lines:
            self._count("left_out", outcome, line, who)

    def finish(self, program, currency: str) -> dict:
        """The totals a merchant weighs: net points and credit, and what they are worth."""
        d = self.d
        fixed = next((r for r in program.rewards if r.type == "fixed_amount" and r.amount), None)
        point_value = (Decimal(fixed.amount) / fixed.points_cost) if fixed else Decimal(0)
        net_points = d["points"]["credited"] - d["points"]["debited"]
        net_credit = Decimal(d["credit"]["credited"]) - Decimal(d["credit"]["debited"])
        d["currency"] = currency
        d["point_value"] = str(point_value)
        d["liability"] = Money.of((net_points * point_value + net_credit).quantize(Decimal("0.01")), currency).to_json()
        d["lines"].sort()
        return d

    @staticmethod
    def comparable(d: dict) -> dict:
        """What must be equal between a dry run and the applied report."""
        return {k: d[k] for k in ("rows", "members", "postings", "points", "credit", "tiers", "birthdays",
                                  "codes", "left_out", "notes")}


class _Chunks(io.RawIOBase):
    """The stored file as a byte stream, one chunk in memory at a time."""

    def __init__(self, fetch: Callable[[int], bytes | None]) -> None:
        self.fetch, self.seq, self.buf = fetch, 0, b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if not self.buf:
            data = self.fetch(self.seq)
            if data is None:
                return 0
            self.seq += 1
            self.buf = data
        n = min(len(b), len(self.buf))
        b[:n], self.buf = self.buf[:n], self.buf[n:]
        return n


class _LineStream(io.RawIOBase):
    """Text lines (a generator) as the bytes of a file, one line in memory at a time."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines, self.buf = iter(lines), b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self.buf:
            line = next(self.lines, None)
            if line is None:
                return 0
            self.buf = (line if line.endswith("\n") else line + "\n").encode()
        n = min(len(b), len(self.buf))
        b[:n], self.buf = self.buf[:n], self.buf[n:]
        return n

    def read(self, size: int = -1) -> bytes:
        out = bytearray()
        while size < 0 or len(out) < size:
            chunk = bytearray(min(65536, size - len(out)) if size >= 0 else 65536)
            n = self.readinto(chunk)
            if not n:
                break
            out += chunk[:n]
        return bytes(out)


def _encoding(head: bytes) -> str:
    """UTF-8 (with or without its byte-order mark) unless the file is not, then Windows-1252
    (what Excel writes in Western Europe)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head[: len(head) - 4] if len(head) > 4 else head)
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "cp1252"


def parse_options(data: dict | None) -> P.Options:
    data = dict(data or {})
    unknown = set(data) - {"tiers", "expiry_from", "create_members", "format", "balance"}
    if unknown:
        raise InvalidRequest(f"unknown option {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
    tiers = data.get("tiers", "as_is")
    if tiers not in P.TIER_MODES:
        raise InvalidRequest("tiers is one of " + ", ".join(P.TIER_MODES), field="tiers")
    expiry_from = data.get("expiry_from", "earned")
    if expiry_from not in P.EXPIRY_FROM:
        raise InvalidRequest("expiry_from is one of " + ", ".join(P.EXPIRY_FROM), field="expiry_from")
    create = data.get("create_members", True)
    if not isinstance(create, bool):
        raise InvalidRequest("create_members is true or false", field="create_members")
    balance = data.get("balance", "file")
    if balance not in P.BALANCE_MODES:
        raise InvalidRequest("balance is one of " + ", ".join(P.BALANCE_MODES), field="balance")
    return P.Options(tiers=tiers, expiry_from=expiry_from, create_members=create, balance=balance)


class Imports:
    def __init__(self, db: Database, ledger: Ledger, programs, enqueue: Callable[..., None],
                 clock: Clock | None = None, woo_lines: Callable[[int, str, str], Iterator[str]] | None = None,
                 directory_for: Callable[[int], object | None] | None = None,
                 failpoint: Callable[[str], None] = lambda name: None) -> None:
        self.failpoint = failpoint  # "import.after_slice": a test stops a worker between two slices
        self.db, self.ledger, self.programs, self.enqueue = db, ledger, programs, enqueue
        self.clock = clock or SystemClock()
        self.directory_for = directory_for  # shop -> its platform's customers by e-mail (None: demo)
        self.woo_lines = woo_lines  # (shop, plugin, kind) -> the CSV lines our WordPress plugin reads

    # -- reading ---------------------------------------------------------------------------
    def view(self, shop_id: int, import_id: int) -> dict:
        with self.db.uow(shop_id) as uow:
            row = uow.imports.get(import_id)
            if row is None:
                raise NotFound("import not found")
            return self._view(row)

    def recent(self, shop_id: int, limit: int = 20) -> list[dict]:
        with self.db.uow(shop_id) as uow:
            return [self._view(r) for r in uow.imports.recent(limit)]

    @staticmethod
    def _view(row) -> dict:
        fmt = FORMATS.get(row.format or "") if row.format and _known(row.format) else None
        return {"id": row.id, "state": row.state, "format": row.format, "source": fmt.title if fmt else None,
                "filename": row.filename, "size_bytes": int(row.size_bytes), "options": row.options,
                "progress": {"done": int(row.done), "total": None if row.total is None else int(row.total)},
                "plan": row.plan, "report": row.report, "error": row.error, "actor": row.actor,
                "matches_plan": (Summary.comparable(row.plan) == Summary.comparable(row.report)
                                 if row.plan and row.report and row.applied_at else None),
                "created_at": _dt(row.created_at), "applied_at": _dt(row.applied_at),
                "reverted_at": _dt(row.reverted_at)}

    # -- upload ----------------------------------------------------------------------------
    def upload(self, shop_id: int, filename: str, stream: BinaryIO, *, fmt: str | None = None,
               options: dict | None = None, actor: str | None = None) -> dict:
        """Keep the file, check an importer reads it, queue the dry run. Refused
        (InvalidRequest) for a file no importer reads, an unknown format or bad options."""
        opts = parse_options(options)
        if fmt is not None and fmt not in FORMATS and not _known(fmt):
            raise InvalidRequest(f"no importer named {fmt!r}", field="format")
        now = self.clock.now()
        with self.db.uow(shop_id) as uow:
            if uow.shops.currency(shop_id) is None:
                raise NotFound("shop not found")
            import_id = uow.imports.create(
                format=fmt, filename=(filename or "import.csv")[-255:], file_sha256="", size_bytes=0,
                options={**asdict(opts)}, state="uploaded", actor=(actor or "")[:255] or None,
                created_at=now, updated_at=now)
            self._keep(uow, import_id, stream, fmt)
        self.enqueue("import_analyze", shop_id, import_id, job_id=f"import-analyze-{import_id}")
        return self.view(shop_id, import_id)

    def _keep(self, uow, import_id: int, stream: BinaryIO, fmt: str | None) -> None:
        """Store the file in chunks (its digest and size), once an importer reads its header."""
        head = stream.read(CHUNK)
        if not head.strip():
            raise InvalidRequest("the file is empty", field="file")
        try:
            found, _rows = read(io.StringIO(head.decode(_encoding(head), errors="replace")), fmt)
        except UnknownFormat as exc:
            raise InvalidRequest(str(exc), field="file") from None
        sha, size = hashlib.sha256(), 0
        seq, data = 0, head
        while data:
            size += len(data)
            if size > MAX_BYTES:
                raise InvalidRequest(f"the file is over {MAX_BYTES >> 20} MB; split it", field="file")
            sha.update(data)
            uow.imports.add_chunk(import_id, seq, data)
            seq += 1
            data = stream.read(CHUNK)
        digest = sha.hexdigest()
        earlier = uow.imports.same_file(digest, import_id)
        generation = sum(1 for e in earlier if e.state == "reverted")
        uow.imports.update(import_id, format=found.name, file_sha256=digest, size_bytes=size,
                           generation=generation)

    # -- from the old plugin's tables, where the merchant runs it (WooCommerce) ----------------
    PLUGINS = ("wc_points_rewards", "wployalty", "yith", "mycred")

    def pull(self, shop_id: int, plugin: str, kind: str = "balances", *, options: dict | None = None,
             actor: str | None = None) -> dict:
        """Read a WooCommerce loyalty plugin's balances or history through our WordPress plugin
        (in a job: the tables may be large), then dry-run it like an uploaded file."""
        if plugin not in self.PLUGINS:
            raise InvalidRequest("plugin is one of " + ", ".join(self.PLUGINS), field="plugin")
        if kind not in ("balances", "history"):
            raise InvalidRequest("kind is balances or history", field="kind")
        opts = parse_options(options)
        now = self.clock.now()
        with self.db.uow(shop_id) as uow:
            shop = uow.shops.by_id(shop_id)
            if shop is None:
                raise NotFound("shop not found")
            if shop.platform != "woocommerce":
                raise InvalidRequest("only a WooCommerce store has these plugins' tables", field="plugin")
            import_id = uow.imports.create(
                format=None, filename=f"{plugin}-{kind}.csv", file_sha256="", size_bytes=0, options={**asdict(opts)},
                state="uploaded", actor=(actor or "")[:255] or None, created_at=now, updated_at=now)
        self.enqueue("import_pull", shop_id, import_id, plugin, kind, job_id=f"import-pull-{import_id}")
        return self.view(shop_id, import_id)

    def pull_run(self, shop_id: int, import_id: int, plugin: str, kind: str) -> dict:
        try:
            lines = self.woo_lines(shop_id, plugin, kind)
            with self.db.uow(shop_id) as uow:
                imp = uow.imports.get(import_id, lock=True)
                if imp is None or imp.state != "uploaded" or imp.size_bytes:
                    return {}
                self._keep(uow, import_id, _LineStream(lines), None)
        except Exception as exc:  # noqa: BLE001 - said to the merchant on the import
            missing = type(exc).__name__ == "Missing"
            with self.db.uow(shop_id) as uow:
                uow.imports.update(import_id, state="failed", updated_at=self.clock.now(), error=(
                    f"{plugin} is not installed on the store (or our WordPress plugin is too old to read it)"
                    if missing else str(exc)[:2000]))
            if missing or isinstance(exc, (InvalidRequest, PermissionError)):
                return {}
            raise
        return self.analyze(shop_id, import_id)

    # -- the dry run -----------------------------------------------------------------------
    def analyze(self, shop_id: int, import_id: int) -> dict:
        """Read, match and stage the rows, then plan every member. Writes nothing to the books."""
        with self.db.uow(shop_id) as uow:
            imp = uow.imports.get(import_id, lock=True)
            if imp is None or imp.state not in ("uploaded", "analyzing"):
                return {}
            uow.imports.update(import_id, state="analyzing", done=0, total=None, updated_at=self.clock.now())
            uow.imports.clear_rows(import_id)
        try:
            self._stage(shop_id, imp)
            plan = self._plan_all(shop_id, import_id)
        except Exception as exc:  # the merchant sees why; the job is not retried with the same file
            with self.db.uow(shop_id) as uow:
                uow.imports.update(import_id, state="failed", error=str(exc)[:2000], updated_at=self.clock.now())
            if isinstance(exc, (UnknownFormat, InvalidRequest)):
                return {}
            raise
        with self.db.uow(shop_id) as uow:
            uow.imports.update(import_id, state="analyzed", plan=plan, cursor=None, updated_at=self.clock.now())
        return plan

    def _rows(self, shop_id: int, imp) -> tuple[str, Iterator[ImportRow]]:
        def fetch(seq: int) -> bytes | None:
            with self.db.uow(shop_id) as uow:
                return uow.imports.chunk(imp.id, seq)

        head = fetch(0) or b""
        text = io.TextIOWrapper(io.BufferedReader(_Chunks(fetch), CHUNK), encoding=_encoding(head),
                                errors="replace", newline="")
        fmt, rows = read(text, imp.format)
        return fmt.name, rows

    def _stage(self, shop_id: int, imp) -> None:
        _, rows = self._rows(shop_id, imp)
        batch: list[ImportRow] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= STAGE_BATCH:
                self._stage_batch(shop_id, imp.id, batch)
                batch = []
        self._stage_batch(shop_id, imp.id, batch)

    def _stage_batch(self, shop_id: int, import_id: int, batch: list[ImportRow]) -> None:
        if not batch:
            return
        with self.db.uow(shop_id) as uow:
            uow.imports.bulk_mode()
            by_id = uow.imports.members_by_customer(sorted({r.customer_id for r in batch if r.customer_id}))
            by_email = uow.imports.members_by_email(sorted({r.email for r in batch if r.email}))
            customers = self._customers(shop_id, sorted({r.email for r in batch if r.email and not r.customer_id
                                                         and r.email not in by_email}))
            staged = []
            for row in batch:
                member = by_id.get(row.customer_id or "") or by_email.get(row.email or "")
                known = row.customer_id or customers.get(row.email or "")
                group = (f"m{member:012d}" if member else f"c{known}" if known
                         else f"e{row.email}" if row.email else f"!{row.line:012d}")
                staged.append(dict(line=row.line, group_key=group[:400], member_id=member, data=_dump(row),
                                   code=P.import_code(row.referral_code) if row.referral_code else None))
            uow.imports.stage(import_id, staged)
            uow.imports.advance(import_id, len(batch), self.clock.now())

    def _customers(self, shop_id: int, emails: list[str]) -> dict[str, str]:
        """The platform's customer id of each e-mail no member has (one customer with it; two
        customers sharing an e-mail stay unresolved): the store's customers who never became
        members are members to create."""
        directory = self.directory_for(shop_id) if (self.directory_for and emails) else None
        if directory is None:
            return {}
        found: dict[str, list[str]] = {}
        for c in directory.customers_by_email(emails):
            found.setdefault(c.email.lower(), []).append(c.customer_id)
        return {email: ids[0] for email, ids in found.items() if len(set(ids)) == 1}

    def _plan_all(self, shop_id: int, import_id: int) -> dict:
        pv = self.programs.current(shop_id)
        with self.db.uow(shop_id) as uow:
            imp = uow.imports.get(import_id)
            currency = uow.shops.currency(shop_id)
            contested = uow.imports.contested_codes(import_id)
            uow.imports.update(import_id, total=imp.done, done=0)
        summary, after = Summary(), None
        while True:
            with self.db.uow(shop_id) as uow:
                uow.imports.bulk_mode()
                rows = uow.imports.groups_after(import_id, after, SLICE_ROWS)
                if not rows:
                    break
                work = self._prepare(uow, imp, pv.program, rows, contested)
                marks = []
                for g in work:
                    if g.plan is None:
                        summary.unmatched([r.line for r in g.rows], g.outcome, g.who)
                        marks += [(r.id, g.outcome) for r in g.rows]
                        continue
                    summary.add(g.plan, exists=g.state.member_id is not None, rows=len(g.rows), who=g.who)
                    marks += _marks(g)
                uow.imports.mark(marks)
                uow.imports.advance(import_id, len(rows), self.clock.now())
                after = rows[-1].group_key
        plan = summary.finish(pv.program, currency)
        plan["contested_codes"] = contested  # codes the file gives two members: the first group keeps it
        return plan

    # -- planning a slice ------------------------------------------------------------------
    def _prepare(self, uow, imp, program, rows, contested: dict[str, str]) -> list["_Group"]:
        """The slice's groups, each with the member's state and its plan (None: left out)."""
        groups: dict[str, _Group] = {}
        for row in rows:
            groups.setdefault(row.group_key, _Group(row.group_key, [])).rows.append(row)
        now = self.clock.now()
        prefix = _digest_prefix(imp.file_sha256, imp.generation)
        opts = P.Options(**imp.options)
        # A group staged by customer id may have become a member since (a webhook, an earlier slice)
        late = uow.imports.members_by_customer([k[1:] for k in groups if k.startswith("c")])
        for g in groups.values():
            g.member_id = g.rows[0].member_id or late.get(g.key[1:]) if g.key[0] in "mc" else None
        since = window_start(program.tiers, now, ZoneInfo(program.timezone or "UTC")) if program.tiers.enabled else None
        states = uow.imports.states([g.member_id for g in groups.values() if g.member_id], since)
        member_ids = [g.member_id for g in groups.values() if g.member_id]
        used = uow.imports.keys_with_prefix(prefix, member_ids) if member_ids else {}  # a re-run replays these
        codes = sorted({r.code for r in rows if r.code})
        holders = uow.imports.code_holders(codes)
        out = []
        for g in groups.values():
            parsed = [_load(r.data) for r in g.rows]
            g.parsed = parsed
            g.who = parsed[0].who
            if g.key.startswith("!"):
                g.outcome = "no_customer"
            elif g.key.startswith("e"):
                g.outcome = "not_a_customer"  # an e-mail no member has, and no customer id to create one
            elif g.member_id is None and not opts.create_members:
                g.outcome = "not_a_member"
            if g.outcome:
                out.append(g)
                continue
            s = states.get(g.member_id) if g.member_id else None
            g.state = P.MemberState(
                g.member_id, int(s.points) if s else 0, Decimal(s.credit) if s else Decimal(0),
                s.tier if s else None, s.tier_since if s else None, s.tier_grace_until if s else None,
                s.birthday if s else None, s.code if s else None, int(s.window) if s else 0,
                frozenset(k for k in used.get(g.member_id, ())))
            code = next((r.code for r in g.rows if r.code), None)
            taken = code is not None and ((contested.get(code, g.key) != g.key)
                                          or holders.get(code, g.member_id) != g.member_id)
            g.plan = P.plan_member(g.state, parsed, program=program, options=opts, now=now, key_prefix=prefix,
                                   code_taken=taken)
            out.append(g)
        return out

    # -- apply -----------------------------------------------------------------------------
    def apply(self, shop_id: int, import_id: int, *, actor: str | None = None) -> dict:
        """Start applying a dry-run import (state analyzed); the work runs in jobs."""
        with self.db.uow(shop_id) as uow:
            imp = _in_state(uow, import_id, "analyzed", "only a dry-run import can be applied")
            uow.imports.update(import_id, state="applying", cursor=None, done=0, report=Summary().d,
                               actor=(actor or imp.actor or "")[:255] or None, updated_at=self.clock.now())
        self.enqueue("import_apply", shop_id, import_id, job_id=f"import-apply-{import_id}-0")
        return self.view(shop_id, import_id)

    def apply_slice(self, shop_id: int, import_id: int) -> bool:
        """Apply the next members of the import, in one transaction with the progress made.
        True when more is left (the job queues the next slice)."""
        pv = self.programs.current(shop_id)
        program, version = pv.program, pv.version
        with self.db.uow(shop_id) as uow:
            imp = uow.imports.get(import_id, lock=True)
            if imp is None or imp.state != "applying":
                return False
            uow.imports.bulk_mode()
            rows = uow.imports.groups_after(import_id, imp.cursor, SLICE_ROWS)
            summary = Summary(imp.report)
            now = self.clock.now()
            if not rows:
                currency = uow.shops.currency(shop_id)
                uow.imports.update(import_id, state="applied", applied_at=now, updated_at=now,
                                   report=summary.finish(program, currency))
                return False
            contested = (imp.plan or {}).get("contested_codes", {})
            work = self._prepare(uow, imp, program, rows, contested)
            app = vendor(imp.format)
            ref = f"import:{import_id}"
            prefix = _digest_prefix(imp.file_sha256, imp.generation)
            bulk = [g for g in work if g.plan is not None and g.member_id is None
                    and all(op.direction == "earn" for op in g.plan.ops)]
            self._write_new(uow, bulk, prefix, ref, app, now, version)
            for g in work:
                if g.plan is None:
                    summary.unmatched([r.line for r in g.rows], g.outcome, g.who)
                    continue
                if g not in bulk:
                    self._write_one(uow, shop_id, g, prefix, ref, app, now, version)
                summary.add(g.plan, exists=g.state.member_id is not None, rows=len(g.rows), who=g.who)
            uow.imports.update(import_id, cursor=rows[-1].group_key, report=summary.d, updated_at=now)
            uow.imports.advance(import_id, len(rows), now)
        self.failpoint("import.after_slice")
        return True

    def _reason(self, op: P.Op, app: str | None) -> Reason:
        named = {"app": app} if app else {}
        if op.why == "balance":
            return Reason("import.balance", named)
        if op.why == "adjustment":
            return Reason("import.adjustment", {**named, "label": (op.label or "")[:200]})
        return Reason("import.history", {**named, "label": (op.label or "")[:200]})

    def _write_one(self, uow, shop_id: int, g: "_Group", prefix: str, ref: str, app: str | None, now: datetime,
                   version: int) -> None:
        """A member through the ledger, posting by posting (an existing member, or one whose
        history spends)."""
        member_id = g.member_id
        first = g.parsed[0]
        if member_id is None:
            currency = uow.shops.currency(shop_id)
            member_id, _ = uow.members.create(g.key[1:], g.plan.profile.get("email"), None, currency, now)
            g.member_id = member_id
        for op in g.plan.ops:
            key = P.key(prefix, op)
            details = {"import": int(ref.split(":")[1]), "line": op.line}
            if op.direction == "earn":
                self.ledger.earn(shop_id, member_id, Asset(op.asset), op.amount, key=key, source=Source.IMPORT,
                                 reason=self._reason(op, app), expires_at=op.expires_at, external_ref=ref,
                                 program_version=version, details=details, occurred_at=op.earned_at)
            else:
                self.ledger.redeem(shop_id, member_id, Asset(op.asset), op.amount, key=key, source=Source.IMPORT,
                                   reason=self._reason(op, app), external_ref=ref)
        self._profile(uow, g, member_id, first, now)

    def _profile(self, uow, g: "_Group", member_id: int, first: ImportRow, now: datetime) -> None:
        plan, state = g.plan, g.state
        changes: dict = {}
        prior: dict = {}
        if plan.tier:
            changes.update(tier=plan.tier, tier_since=now, tier_grace_until=None)
            prior.update(tier=state.tier, tier_since=_dt(state.tier_since),
                         tier_grace_until=_dt(state.tier_grace_until))
        if plan.birthday:
            changes["birthday"] = plan.birthday
            prior["birthday"] = state.birthday.isoformat() if state.birthday else None
        if state.member_id is not None:  # fill in what an existing member lacks; never overwrite
            row = uow.members.by_id(member_id)
            for name in ("email", "name", "locale"):
                if plan.profile.get(name) and not getattr(row, name):
                    changes[name] = plan.profile[name][:{"email": 320, "name": 120, "locale": 16}[name]]
        else:
            for name, limit in (("name", 120), ("locale", 16)):
                if plan.profile.get(name):
                    changes[name] = plan.profile[name][:limit]
        if changes:
            uow.members.update_profile(member_id, now, **changes)
        if plan.code:
            prior["code"] = state.code
            prior["has_code"] = True
            uow.imports.set_code(member_id, plan.code, now)
        if prior:
            uow.imports.set_prior(g.rows[0].id, {"member_id": member_id, **prior})

    def _write_new(self, uow, groups: list["_Group"], prefix: str, ref: str, app: str | None, now: datetime,
                   version: int) -> None:
        """New members whose rows only credit: a few statements for the whole slice."""
        if not groups:
            return
        currency = uow.shops.currency(uow.shop_id)
        ids = uow.imports.new_members([dict(
            platform_customer_id=g.key[1:][:64], email=(g.plan.profile.get("email") or None),
            name=(g.plan.profile.get("name") or "")[:120] or None, locale=(g.plan.profile.get("locale") or "")[:16] or None,
            birthday=g.plan.birthday, tier=g.plan.tier, tier_since=now if g.plan.tier else None,
            created_at=now, updated_at=now) for g in groups])
        entries, lots, balances, codes, priors = [], [], [], [], []
        import_id = int(ref.split(":")[1])
        for g in groups:
            g.member_id = ids[g.key[1:][:64]]
            sums = {"points": 0, "credit": Decimal(0)}
            for op in g.plan.ops:
                asset = Asset(op.asset)
                value = op.amount if asset == Asset.POINTS else Money.of(op.amount, currency).amount
                key = P.key(prefix, op)
                reason = self._reason(op, app)
                request = dict(op="earn", member=g.member_id, asset=asset, amount=str(op.amount), ref=ref)
                col = "points" if asset == Asset.POINTS else "credit"
                entries.append({"member_id": g.member_id, "asset": asset.value, "kind": "earn",
                                "source": Source.IMPORT.value, "reason": english(reason)[:500],
                                "reason_code": reason.code, "reason_params": reason.params, "idempotency_key": key,
                                "request_hash": _fingerprint(request), "external_ref": ref, "amount": Decimal(value),
                                col: value, f"{col}_lifetime": value, "program_version": version,
                                "details": {"import": import_id, "line": op.line}, "created_at": now,
                                "occurred_at": op.earned_at})
                lots.append((key, g.member_id, asset.value, value, op.expires_at, op.earned_at or now))
                sums[col] += value
            balances.append(dict(member_id=g.member_id, currency=currency, points=sums["points"],
                                 points_lifetime=sums["points"], credit=sums["credit"],
                                 credit_lifetime=sums["credit"], version=len(g.plan.ops), updated_at=now))
            if g.plan.code:
                codes.append(dict(member_id=g.member_id, code=g.plan.code, created_at=now))
            if g.plan.code or g.plan.tier or g.plan.birthday:  # what a revert puts back: nothing
                priors.append((g.rows[0].id, {"member_id": g.member_id, "tier": None, "birthday": None,
                                              "has_code": True, "code": None}))
        uow.imports.new_balances(balances)
        uow.imports.set_priors(priors)
        if entries:
            entry_ids = uow.imports.new_entries(_uniform(entries))
            uow.imports.new_lots([dict(member_id=m, asset=a, entry_id=entry_ids[k], amount=v, remaining=v,
                                       pending=False, available_at=None, expires_at=x, created_at=c)
                                  for k, m, a, v, x, c in lots])
        uow.imports.new_codes(codes)

    # -- revert ----------------------------------------------------------------------------
    def revert(self, shop_id: int, import_id: int, *, actor: str | None = None) -> dict:
        with self.db.uow(shop_id) as uow:
            imp = _in_state(uow, import_id, "applied", "only an applied import can be undone")
            report = dict(imp.report or {})
            report["revert"] = {"reversed": 0, "profiles": 0, "below_zero": 0, "actor": actor}
            uow.imports.update(import_id, state="reverting", cursor="e0", done=0, total=imp.report.get("postings") if imp.report else None,
                               report=report, updated_at=self.clock.now())
        self.enqueue("import_revert", shop_id, import_id, job_id=f"import-revert-{import_id}-0")
        return self.view(shop_id, import_id)

    def revert_slice(self, shop_id: int, import_id: int) -> bool:
        with self.db.uow(shop_id) as uow:
            imp = uow.imports.get(import_id, lock=True)
            if imp is None or imp.state != "reverting":
                return False
            now = self.clock.now()
            report = dict(imp.report)
            rv = dict(report["revert"])
            phase, after = imp.cursor[0], int(imp.cursor[1:])
            if phase == "e":
                entries = uow.imports.entries_of(f"import:{import_id}", after, REVERT_SLICE)
                reason = Reason("import.reverted", {"import": import_id})
                for e in entries:
                    posted = self.ledger.reverse(shop_id, e.id, key=f"import-revert:{e.id}", source=Source.IMPORT,
                                                 reason=reason, details={"import": import_id})
                    rv["reversed"] += not posted.replayed
                    rv["below_zero"] += posted.balance.points < 0 or posted.balance.credit.amount < 0
                cursor = f"e{entries[-1].id}" if entries else "p0"
                uow.imports.advance(import_id, len(entries), now)
            else:
                rows = uow.imports.with_prior(import_id, after, REVERT_SLICE)
                for row in rows:
                    self._restore(uow, row.prior, now)
                    rv["profiles"] += 1
                cursor = f"p{rows[-1].id}" if rows else None
            report["revert"] = rv
            if cursor is None:
                uow.imports.update(import_id, state="reverted", reverted_at=now, cursor=None, report=report,
                                   updated_at=now)
                return False
            uow.imports.update(import_id, cursor=cursor, report=report, updated_at=now)
            return True

    @staticmethod
    def _restore(uow, prior: dict, now: datetime) -> None:
        member_id = int(prior["member_id"])
        changes: dict = {}
        if "tier" in prior:
            changes.update(tier=prior["tier"], tier_since=_when(prior.get("tier_since")),
                           tier_grace_until=_when(prior.get("tier_grace_until")))
        if "birthday" in prior:
            changes["birthday"] = date.fromisoformat(prior["birthday"]) if prior["birthday"] else None
        if changes:
            uow.members.update_profile(member_id, now, **changes)
        if prior.get("has_code"):
            uow.imports.set_code(member_id, prior.get("code"), now)

    # -- a worker died ------------------------------------------------------------------------
    STALL_SECONDS = 300

    def resume_stalled(self) -> int:
        """Queue again the phase of every import that stopped moving (its worker was killed):
        each phase carries on from its last committed slice (a dry run starts over)."""
        from datetime import timedelta

        with self.db.uow() as uow:
            rows = uow.due.stalled_imports(self.clock.now() - timedelta(seconds=self.STALL_SECONDS))
        for row in rows:
            task = {"analyzing": "import_analyze", "applying": "import_apply", "reverting": "import_revert"}[row.state]
            with self.db.uow(row.shop_id) as uow:  # claim it: the next sweep waits another while
                uow.imports.update(row.id, updated_at=self.clock.now())
            self.enqueue(task, row.shop_id, row.id)
        return len(rows)

    # -- the rows left out -----------------------------------------------------------------
    def left_out(self, shop_id: int, import_id: int, limit: int = 1000) -> list[dict]:
        with self.db.uow(shop_id) as uow:
            if uow.imports.get(import_id) is None:
                raise NotFound("import not found")
            return [{"line": int(r.line), "who": _load(r.data).who, "outcome": r.outcome}
                    for r in uow.imports.left_out(import_id, limit)]


def _in_state(uow, import_id: int, state: str, rule: str):
    """The import, locked, when it is in `state`; NotFound or InvalidState (saying `rule`) if not."""
    imp = uow.imports.get(import_id, lock=True)
    if imp is None:
        raise NotFound("import not found")
    if imp.state != state:
        raise InvalidState(f"the import is {imp.state}; {rule}", state=imp.state)
    return imp


class _Group:
    def __init__(self, key: str, rows: list) -> None:
        self.key, self.rows = key, rows
        self.member_id: int | None = None
        self.parsed: list[ImportRow] = []
        self.state: P.MemberState | None = None
        self.plan: P.GroupPlan | None = None
        self.outcome: str | None = None
        self.who = ""


def _marks(g: _Group) -> list[tuple[int, str]]:
    by_line = {r.line: r.id for r in g.rows}
    return [(by_line[line], outcome) for line, outcome in g.plan.skipped + g.plan.notes if line in by_line]


def _uniform(rows: list[dict]) -> list[dict]:
    """executemany wants every row to name the same columns."""
    cols = {k for row in rows for k in row}
    return [{k: row.get(k, 0 if k.startswith(("points", "credit")) else None) for k in cols} for row in rows]


def _known(fmt: str) -> bool:
    from ..domain.imports import _load_formats

    _load_formats()
    return fmt in FORMATS
