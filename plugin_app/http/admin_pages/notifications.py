"""Shopper e-mails, the merchant's webhook endpoints and the delivery log."""
from __future__ import annotations

import secrets

from flask import request

from ...domain.errors import DomainError
from .base import _page, _rt, _shop, bp


@bp.route("/notifications", methods=["GET", "POST"])
def notifications():
    """Shopper emails (a preview of each, in English or Italian; wording in the Emails settings),
    the merchant's webhook endpoints, and the delivery log with replay."""
    from ...domain import notifications as N
    from ...services.notify import WEBHOOK_TOPICS

    shop = _shop()
    rt = _rt()
    lang = request.args.get("preview", "en") if request.args.get("preview") in ("en", "it") else "en"
    message = error = created = None
    if request.method == "POST":
        action = request.form.get("action")
        try:
            if action == "add":
                url = request.form.get("url", "").strip()
                if not url.startswith("https://"):
                    raise DomainError("the endpoint must be an https URL")
                created = rt.notifier.add_endpoint(shop.id, url, request.form.getlist("topics"),
                                                   "whsec_" + secrets.token_urlsafe(24))
            elif action == "remove":
                rt.notifier.remove_endpoint(shop.id, int(request.form.get("id", "0") or 0))
                message = "disabled"
            elif action == "replay":
                rt.notifier.replay(shop.id, int(request.form.get("id", "0") or 0))
                message = "queued again"
        except DomainError as exc:
            error = exc.message
    previews = [rt.notifier.preview(shop.id, kind, lang) for kind in N.KINDS]
    return _page("Notifications", "notifications", """<h1>{{ t.notifications }}</h1>
      {% if error %}<p class="err" role="alert">{{ error }}</p>{% endif %}{% if message %}<p class="ok" role="status">{{ message }}</p>{% endif %}
      <div class="card"><h2>Shopper emails</h2><p class="muted">Switch each on or off and reword it in
      <a href="{{ url_for('admin_pages.program_section', section='emails') }}">Program › Emails</a>. Preview in
      <a href="?preview=en">English</a> · <a href="?preview=it">Italiano</a>.</p>
      {% for p in previews %}<details data-email="{{ p.kind }}"><summary><strong>{{ p.kind.replace('_', ' ') }}</strong>
      {{ '' if p.enabled else '(off)' }} — {{ p.subject }}</summary><pre style="white-space:pre-wrap">{{ p.body }}</pre></details>{% endfor %}</div>
      <div class="card"><h2>Webhooks</h2>{% if created %}<p class="ok" role="status">Endpoint added. Its signing secret, shown once:
      <code data-secret>{{ created.secret }}</code></p>{% endif %}
      <table><tr><th>URL</th><th>Topics</th><th></th></tr>{% for e in endpoints %}<tr><td>{{ e.url }}</td><td>{{ e.topics|join(', ') }}</td>
      <td>{% if e.active %}<form method="post">{{ csrf() }}<input type="hidden" name="id" value="{{ e.id }}"><button name="action" value="remove" class="secondary">Disable</button></form>{% else %}disabled{% endif %}</td></tr>
      {% else %}<tr><td class="muted" colspan="3">–</td></tr>{% endfor %}</table>
      <form method="post" style="margin-top:10px">{{ csrf() }}<div class="fld"><label for="url">Endpoint URL (https)</label><input id="url" name="url" required></div>
      {% for topic in topics %}<label class="pair"><input type="checkbox" name="topics" value="{{ topic }}" checked> {{ topic }}</label>{% endfor %}
      <p><button name="action" value="add">Add endpoint</button></p></form>
      <p class="muted" style="font-size:12px">Each delivery is a POST of JSON with X-Loyalty-Event-Id (the same on every retry),
      X-Loyalty-Topic, X-Loyalty-Timestamp and X-Loyalty-Signature: sha256=hex(HMAC-SHA256(secret, timestamp + "." + body)).</p></div>
      <div class="card"><h2>Delivery log</h2><table><tr><th>When</th><th>Channel</th><th>Topic</th><th>To</th><th>State</th><th>Attempts</th><th></th></tr>
      {% for d in log %}<tr><td>{{ d.created_at[:16] }}</td><td>{{ d.channel }}</td><td>{{ d.topic }}</td><td>{{ d.recipient }}</td>
      <td>{{ d.state }}{% if d.last_error %}<div class="muted" style="font-size:12px">{{ d.last_error }}</div>{% endif %}</td><td>{{ d.attempts }}</td>
      <td>{% if d.state in ('failed', 'sent') %}<form method="post">{{ csrf() }}<input type="hidden" name="id" value="{{ d.id }}"><button name="action" value="replay" class="secondary">{{ t.replay }}</button></form>{% endif %}</td></tr>
      {% else %}<tr><td class="muted" colspan="7">–</td></tr>{% endfor %}</table></div>""",
                 previews=previews, endpoints=rt.notifier.endpoints(shop.id), topics=WEBHOOK_TOPICS,
                 log=rt.notifier.log(shop.id, limit=100), created=created, error=error, message=message)
