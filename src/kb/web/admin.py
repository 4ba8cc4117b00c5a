"""Pages for admins: the audit log and the doubts about access. Thin: read kb.audit and
kb.index.access, render."""

from __future__ import annotations

import time

from flask import Blueprint, current_app, render_template, request

from kb.audit import log_for
from kb.index import access
from kb.names import display
from kb.web.auth import refusal

bp = Blueprint("admin", __name__)


@bp.app_context_processor
def access_count():
    """How many doubts about access there are, for the admin's menu ("Доступ (3)")."""
    from flask_login import current_user

    if not getattr(current_user, "is_admin", False):
        return {}
    try:
        n = len(access.problems(current_app.config["KB_INDEX"], current_app.config["KB_CORPUS"]))
    except Exception:           # noqa: BLE001 - the menu never breaks a page
        n = 0
    return {"access_problems": n}


@bp.get("/admin/audit")
def audit():
    if (refused := refusal("admin")) is not None:
        return refused
    action = (request.args.get("action") or "").strip()[:40] or None
    actor = (request.args.get("user") or "").strip()[:64] or None
    events = log_for(current_app.config["KB_INDEX"]).read(limit=500, action=action, actor=actor)
    return render_template("audit.html", events=events, action=action or "", actor=actor or "",
                           when=lambda t: time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)))


@bp.get("/admin/access")
def access_errors():
    """Sidecars and rules kb could not read: each has hidden documents from visitors."""
    if (refused := refusal("admin")) is not None:
        return refused
    found = access.problems(current_app.config["KB_INDEX"], current_app.config["KB_CORPUS"])
    return render_template("access.html", problems=[(display(p), why) for p, why in found])
