"""Operations: flagged reward codes, reconciliation, workers, failed deliveries."""
from __future__ import annotations


from flask import request

from ...domain.errors import DomainError
from .base import _page, _rt, _shop, bp


@bp.route("/operations", methods=["GET", "POST"])
def operations():
    shop = _shop()
    rt = _rt()
    replayed = decided = error = None
    if request.method == "POST" and request.form.get("action") == "decide":
        try:
            rt.cart.decide(shop.id, int(request.form.get("redemption_id", "0") or 0),
                           decision=request.form.get("decision", ""), reason=request.form.get("reason", ""),
                           actor=f"admin-page:{shop.id}")
            decided = True
        except (ValueError, DomainError) as exc:
            error = getattr(exc, "message", str(exc))
    elif request.method == "POST":
        replayed = rt.inbox.replay(shop.id, int(request.form.get("id", "0") or 0))
    from ...services.reconcile import sync_status

    sync = sync_status(rt.db, shop.id)
    flagged = rt.cart.flagged(shop.id)
    return _page("Operations", "operations", """<h1>{{ t.operations }}</h1>
      {% if replayed %}<p class="ok" role="status">{{ t.replay }}: {{ replayed }}</p>{% endif %}
      {% if decided %}<p class="ok" role="status">{{ t.decision_saved }}</p>{% endif %}
      {% if error %}<p class="err" role="alert">{{ error }}</p>{% endif %}
      <div class="card" data-flagged><h2>{{ t.flagged }}</h2><p class="muted">{{ t.flagged_help }}</p>
      <table><tr><th>{{ t.code }}</th><th>{{ t.owner }}</th><th>{{ t.used_by }}</th><th>{{ t.order }}</th><th>{{ t.held }}</th><th>{{ t.decision }}</th></tr>
      {% for r in flagged %}<tr><td>{{ r.code }}</td>
      <td><a href="{{ url_for('admin_pages.member', member_id=r.member_id) }}">{{ r.owner_customer_id }}</a> <span class="muted">{{ r.owner_email or '' }}</span></td>
      <td>{{ r.used_by_customer_id or t.guest }}</td><td>{{ r.order_id or '' }}</td><td>{{ r.amount }} {{ r.asset }}</td>
      <td>{% if r.status == 'flagged' %}<form method="post">{{ csrf() }}<input type="hidden" name="action" value="decide">
      <input type="hidden" name="redemption_id" value="{{ r.id }}">
      <select name="decision" aria-label="{{ t.decision }}"><option value="commit">{{ t.commit }}</option><option value="release">{{ t.release }}</option></select>
      <input name="reason" required minlength="1" maxlength="500" placeholder="{{ t.reason }}" aria-label="{{ t.reason }}">
      <button>{{ t.decide }}</button></form>
      {% else %}{{ t.commit if r.decision == 'commit' else t.release }} · {{ t.decided_by }} {{ r.decided_by }} · {{ r.decided_at[:16] }}
      <div class="muted">{{ r.reason }}</div>{% endif %}</td></tr>
      {% else %}<tr><td class="muted" colspan="6">–</td></tr>{% endfor %}</table></div>
      <div class="card"><h2>{{ t.reconciled }}</h2><p>{{ sync.checked_at[:16] if sync and sync.checked_at else '–' }}
      {% if sync and sync.last_error %}<span class="err">{{ sync.last_error }}</span>{% endif %}</p></div>
      <div class="card" data-workers><h2>{{ t.workers }}</h2>
      {% if workers is none %}<p class="muted">{{ t.in_process }}</p>
      {% elif not workers %}<p class="err">{{ t.no_workers }}</p>
      {% else %}<table>{% for w in workers %}<tr><td>{{ w.host }} · {{ w.pid }}</td>
      <td>{% if w.alive %}<span class="ok">{{ t.worker_alive }}</span>, {{ t.worker_states.get(w.state, w.state) }}{% else %}<span class="muted">{{ t.worker_states.get(w.state, w.state) if w.state == 'stopped' else t.worker_silent }} {{ w.last_seen[:16] }}</span>{% endif %}
      {% if w.detail %}<div class="muted" style="font-size:12px">{{ w.detail }}</div>{% endif %}</td></tr>{% endfor %}</table>{% endif %}</div>
      <div class="card"><h2>{{ t.failed }}</h2><table><tr><th>Topic</th><th>Received</th><th>Attempts</th><th>Reason</th><th></th></tr>
      {% for d in failed %}<tr><td>{{ d.topic }}</td><td>{{ d.received_at[:16] }}</td><td>{{ d.attempts }}</td>
      <td>{{ d.reason }}<div class="muted" style="font-size:12px">{{ d.error }}</div></td><td><form method="post">{{ csrf() }}<input type="hidden" name="id" value="{{ d.id }}"><button>{{ t.replay }}</button></form></td></tr>
      {% else %}<tr><td class="muted" colspan="5">–</td></tr>{% endfor %}</table></div>
      <div class="card"><h2>Redemptions the platform refused</h2><table><tr><th>When</th><th>Member</th><th>Reward</th><th>Reason</th></tr>
      {% for r in refused %}<tr><td>{{ r.at[:16] }}</td><td><a href="{{ url_for('admin_pages.member', member_id=r.member_id) }}">#{{ r.member_id }}</a></td>
      <td>{{ r.reward_id or 'store credit' }} ({{ r.amount }} {{ r.asset }}, returned)</td><td>{{ r.reason }}</td></tr>
      {% else %}<tr><td class="muted" colspan="4">–</td></tr>{% endfor %}</table></div>""",
                 sync=sync, failed=rt.inbox.failed(shop.id), refused=rt.cart.failed(shop.id), replayed=replayed,
                 flagged=flagged, decided=decided, error=error, workers=_workers(rt))


def _workers(rt) -> list[dict] | None:
    """Worker heartbeats (None: jobs run in this process, there are no workers to show)."""
    if rt.settings.jobs_mode != "rq":
        return None
    from ...services.workers import Heartbeats

    return Heartbeats(rt.db, rt.clock).recent()
