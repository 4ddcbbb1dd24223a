"""Members: find one, see the ledger, adjust points and credit, correct a birthday."""
from __future__ import annotations


from flask import request, session

from ...domain.birthdays import show as show_birthday
from ...domain.errors import DomainError
from .base import _page, _rt, _shop, bp


@bp.get("/members")
def members():
    shop = _shop()
    q = request.args.get("q", "").strip()
    found = []
    if q:
        rt = _rt()
        for member_id in rt.members.search(shop.id, q, 50):
            m, balance = rt.members.get(shop.id, member_id)
            found.append({"id": m.id, "email": m.email, "name": m.name, "platform_customer_id": m.platform_customer_id,
                          "tier": m.tier, "points": balance.points})
    return _page("Members", "members", """<h1>{{ t.members }}</h1><form class="card" role="search">
      <input name="q" value="{{ q }}" aria-label="{{ t.search }}" placeholder="email, name or customer id"> <button>{{ t.search }}</button></form>
      {% if found %}<div class="card"><table><tr><th>Customer</th><th>Name</th><th>Email</th><th>Tier</th><th>Points</th></tr>
      {% for m in found %}<tr><td><a href="{{ url_for('admin_pages.member', member_id=m.id) }}">{{ m.platform_customer_id }}</a></td>
      <td>{{ m.name or '' }}</td><td>{{ m.email or '' }}</td><td>{{ m.tier or '' }}</td><td>{{ m.points }}</td></tr>{% endfor %}</table></div>{% endif %}""",
                 q=q, found=found)


@bp.route("/members/<int:member_id>", methods=["GET", "POST"])
def member(member_id: int):
    shop = _shop()
    rt = _rt()
    message = error = None
    if request.method == "POST" and "birthday" in request.form:
        try:  # the merchant corrects a birthday: recorded with who and when
            current, _ = rt.members.get(shop.id, member_id)
            rt.members.set_birthday(shop.id, current.platform_customer_id, request.form.get("birthday", ""),
                                    source="merchant", actor=f"admin-page:{session.get('admin_shop')}")
            message = "ok"
        except DomainError as exc:
            error = exc.message
    elif request.method == "POST":
        try:
            amount = int(request.form.get("amount", "0"))
            rt.adjustments.adjust(shop.id, member_id, "points", amount, key=f"admin-page:{request.form.get('nonce', '')}",
                                  actor=f"admin-page:{session.get('admin_shop')}", reason=request.form.get("reason", ""))
            message = "ok"
        except (ValueError, DomainError) as exc:
            error = getattr(exc, "message", str(exc))
    try:
        m, balance = rt.members.get(shop.id, member_id)
    except DomainError:
        return _page("Member", "members", '<p class="err">No such member.</p>'), 404
    entries = rt.ledger.entries(shop.id, member_id, limit=200)
    import uuid
    return _page("Member", "members", """<h1>{{ m.name or m.platform_customer_id }} <span class="muted">{{ m.email or '' }} · {{ m.platform_customer_id }}</span></h1>
      <div class="grid"><div class="card"><div class="muted">Points</div><div class="big" data-points>{{ b.points }}</div>
      <div class="muted">{{ b.pending_points }} pending · {{ b.held_points }} held</div></div>
      <div class="card"><div class="muted">Tier</div><div class="big">{{ m.tier or '–' }}</div>
      <div class="muted">{{ 'since ' ~ m.tier_since.strftime('%Y-%m-%d') if m.tier_since else '' }}</div></div>
      <div class="card"><div class="muted">Store credit</div><div class="big">{{ amt(b.credit.amount, b.credit.currency) }} {{ b.credit.currency }}</div></div>
      <div class="card" data-referrals><div class="muted">Referrals</div><div class="big">{{ refs.referred|length }}</div>
      <div class="muted">{{ 'code ' ~ refs.code if refs.code else 'no code yet' }}{% if refs.referred_by %} · referred by member
      <a href="{{ url_for('admin_pages.member', member_id=refs.referred_by.referrer_member_id) }}">#{{ refs.referred_by.referrer_member_id }}</a>
      ({{ refs.referred_by.status }}){% endif %}</div></div></div>
      {% if refs.referred %}<div class="card"><h2>Referred friends</h2><table><tr><th>Friend</th><th>Status</th><th>Order</th><th>Why</th></tr>
      {% for r in refs.referred %}<tr><td><a href="{{ url_for('admin_pages.member', member_id=r.friend_member_id) }}">#{{ r.friend_member_id }}</a></td>
      <td>{{ r.status }}</td><td>{{ r.order_id or '' }}</td><td>{{ r.reason or '' }}</td></tr>{% endfor %}</table></div>{% endif %}
      <div class="card"><h2>{{ t.adjust }}</h2>{% if error %}<p class="err" role="alert">{{ error }}</p>{% endif %}
      {% if message %}<p class="ok" role="status">✓</p>{% endif %}
      <form method="post">{{ csrf() }}<input type="hidden" name="nonce" value="{{ nonce }}">
      <label>{{ t.amount }} <input name="amount" type="number" required></label>
      <label>{{ t.reason }} <input name="reason" required minlength="1" maxlength="500"></label> <button>{{ t.adjust }}</button></form>
      <p><a href="{{ url_for('admin_api.export_member', member_id=m.id) }}">{{ t.export }}</a></p></div>
      <div class="card" data-birthday><h2>{{ t.birthday }}</h2>
      <form method="post">{{ csrf() }}<label>{{ t.birthday }} <input name="birthday" value="{{ bday or '' }}"
      placeholder="1990-03-01" required maxlength="10" aria-describedby="bday-help"></label> <button>{{ t.save }}</button>
      <span id="bday-help" class="muted">{{ t.birthday_help }}</span></form>
      {% if bday_changes %}<table><tr><th>When</th><th>From</th><th>To</th><th>By</th></tr>{% for c in bday_changes %}
      <tr><td>{{ c.at[:16].replace('T', ' ') }}</td><td>{{ c.old or '–' }}</td><td>{{ c.new }}</td><td>{{ c.actor or c.source }} ({{ c.source }})</td></tr>
      {% endfor %}</table>{% endif %}</div>
      <div class="card"><h2>{{ t.ledger }}</h2><table><tr><th>When</th><th>What and why</th><th>Points</th><th>Credit</th><th>By</th></tr>
      {% for e in entries %}<tr><td>{{ e.created_at.strftime('%Y-%m-%d %H:%M') }}</td><td><strong>{{ e.kind }}</strong> {{ e.reason }}
      {% if e.details and e.details.notes %}<ul class="muted" style="margin:2px 0">{% for n in e.details.notes %}<li>{{ n }}</li>{% endfor %}</ul>{% endif %}
      {% if e.program_version %}<span class="muted">program v{{ e.program_version }}</span>{% endif %}</td>
      <td>{{ e.points + e.points_pending if e.asset == 'points' else '' }}{{ ' (pending)' if e.points_pending else '' }}</td>
      <td>{{ amt(e.credit + e.credit_pending, b.credit.currency) if e.asset == 'credit' else '' }}</td><td>{{ e.actor or e.source }}</td></tr>{% endfor %}
      </table></div>""", m=m, b=balance, entries=entries, error=error, message=message, nonce=uuid.uuid4().hex,
                 refs=rt.referrals.for_member(shop.id, member_id), bday=show_birthday(m.birthday),
                 bday_changes=rt.members.birthday_changes(shop.id, member_id))
