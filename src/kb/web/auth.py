"""Who is asking: sessions (Flask-Login), API tokens, CSRF (Flask-WTF), login limits (Flask-Limiter).

    install(app, index_dir, secure_cookies=False)

Every request first runs as the public (kb.index.access): set at the WSGI entry, before Flask
sees the request, and raised to staff only when a staff account is signed in or a staff
token is given. So a page that forgets about access still cannot show a staff document,
and a failure while loading the user leaves the request public.

The session secret is generated at first start and kept in `INDEX/secret_key` (mode 0600):
sessions survive a restart, and a new server folder never shares a key with another. With a
shared PostgreSQL database (kb.state) it is kept there instead, so that every node of a
cluster reads the sessions the others signed.
A session holds the account's session version (kb.accounts) and is refused once it changed:
logout, a new password, a new role or removal ends every session of the account, a copied
cookie included; API tokens are not sessions and last until revoked.
Login attempts are limited per client address and per account name (only failed attempts
count against an account, named in its normal form, kb.accounts.name_key); past the limit
the login page says until when it is locked.
The limits are counted in `INDEX/login-limits.sqlite3` or the shared database
(kb.web.limitstore), not in a process's memory: every worker of `kb serve --workers N`, and
every node of a cluster, sees the same counts, and a restart does not forget them.
When the shared database cannot be reached, a session reads as anonymous (public search goes
on, with a notice), and sign-in, tokens and the pages that need the database answer 503
saying why (kb.state.StateUnavailable).
"""

from __future__ import annotations

import math
import os
import secrets
import time
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, jsonify, redirect, render_template, request, session, url_for
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import Unauthorized
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from kb import state
from kb.accounts import Accounts, User, name_key
from kb.audit import record
from kb.errors import KbError
from kb.index import access
from kb.search.results import split_message
from kb.state import Migration, StateUnavailable
from kb.web import limitstore
from kb.web.errors import WebError, wants_json

SECRET_FILE = "secret_key"
SESSION_VERSION = "kb_sv"          # the session's key for the account's session version
# Failed logins allowed per account name and per client address (an office behind one NAT
# address signs in many times a day: only failures count).
ACCOUNT_LIMIT = "5 per 15 minutes"
ADDRESS_LIMIT = "20 per 15 minutes"


class WebUser(UserMixin):
    def __init__(self, user: User):
        self.user = user
        self.name = user.name
        self.role = user.role
        self.is_staff = user.is_staff
        self.is_admin = user.is_admin

    def get_id(self) -> str:
        return str(self.user.id)


def refusal(role: str):
    """None when the signed-in person has `role` ("staff" or "admin"); else the answer to give:
    the login page for an anonymous visitor (a JSON 401 when it wants JSON), 403 for a
    signed-in one without the role."""
    if not current_user.is_authenticated:
        # A script (Accept: application/json, or an /api/ route) gets a 401 it can read, not
        # a redirect to a login form it cannot fill in.
        if wants_json():
            err = WebError(401, "Войдите или передайте токен API (заголовок Authorization: Bearer)",
                           "sign in or send an API token (Authorization: Bearer)")
            return jsonify(err.to_json()), 401, {"WWW-Authenticate": 'Bearer realm="kb"'}
        return current_app.login_manager.unauthorized()
    if not getattr(current_user, f"is_{role}"):
        abort(403)
    return None


class LoginForm(FlaskForm):
    username = StringField("Имя", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Пароль", validators=[DataRequired(), Length(max=1024)])


class LogoutForm(FlaskForm):
    pass


# With a shared database the key is kept there: a session signed by one node is read by all.
_SETTINGS = [Migration(1, postgres="CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")]


def share_secret_key(index_dir: Path) -> None:
    """The key of `INDEX/secret_key` becomes the shared database's (`kb state copy`): sessions
    the single server signed stay valid on every node."""
    path = Path(index_dir, SECRET_FILE)
    key = path.read_text().strip()
    try:
        bytes.fromhex(key)
    except ValueError:
        raise KbError(f"файл ключа сессий {path} повреждён: не копирую его (session key file damaged)") from None
    state.database(index_dir, "settings", _SETTINGS, file="").execute(
        "INSERT INTO settings (key, value) VALUES ('secret_key', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key,))


def secret_key(index_dir: Path) -> bytes:
    """The session secret of this server folder, created (mode 0600) at first start; of the
    shared database when there is one (the first node to start makes it)."""
    if state.shared():
        db = state.database(index_dir, "settings", _SETTINGS, file="")
        db.execute("INSERT INTO settings (key, value) VALUES ('secret_key', ?) ON CONFLICT DO NOTHING",
                   (secrets.token_bytes(32).hex(),))
        return bytes.fromhex(db.execute("SELECT value FROM settings WHERE key = 'secret_key'").fetchone()[0])
    path = Path(index_dir) / SECRET_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    except ValueError:
        raise KbError(f"файл ключа сессий {path} повреждён: удалите его, и все пользователи выйдут из системы "
                      "(session key file damaged)") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:                 # another process made it first: use theirs
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as f:
        f.write(key.hex())
    return key


def safe_next(target: str | None) -> str:
    """Where to go after login: a path of this site only (never //other.site or a scheme)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _public_first(wsgi_app):
    """The WSGI entry: the request runs as the public until its user is known. The audience
    holds only while the app runs: the call, then each chunk of a streamed body (an export is
    written as it is read), never in between, so nothing else on the thread inherits it."""
    def app(environ, start_response):
        token = access.set_audience(access.PUBLIC)
        try:
            body = wsgi_app(environ, start_response)
            seen = access.audience()          # as the request's hooks left it
        finally:
            access.reset_audience(token)
        return _Streamed(body, seen)
    return app


class _Streamed:
    """A response body whose chunks are produced under the request's audience."""

    def __init__(self, body, audience: str):
        self.body, self.audience, self._it = body, audience, None

    def __iter__(self):
        return self

    def __next__(self):
        token = access.set_audience(self.audience)
        try:
            if self._it is None:
                self._it = iter(self.body)
            return next(self._it)
        finally:
            access.reset_audience(token)

    def close(self):
        close = getattr(self.body, "close", None)
        if close is not None:
            token = access.set_audience(self.audience)
            try:
                close()
            finally:
                access.reset_audience(token)


def install(app: Flask, index_dir: Path, *, secure_cookies: bool = False) -> None:
    accounts = Accounts(index_dir)
    app.config.update(
        SECRET_KEY=secret_key(index_dir),
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax", REMEMBER_COOKIE_SECURE=secure_cookies,
        WTF_CSRF_TIME_LIMIT=None,          # the token lives as long as the session
        WTF_CSRF_CHECK_DEFAULT=False,      # checked below, once the caller is known
        KB_ACCOUNTS=accounts,
    )
    app.wsgi_app = _public_first(app.wsgi_app)
    csrf = CSRFProtect(app)
    manager = LoginManager(app)
    manager.login_view = "auth.login"
    manager.login_message = "Войдите, чтобы открыть эту страницу."

    @manager.user_loader
    def load_user(user_id: str):
        try:
            user = accounts.by_id(int(user_id)) if user_id.isdigit() else None
        except StateUnavailable as e:
            # The database is down: the visitor is anonymous (public documents only, fail
            # closed), and the page says why.
            g.kb_state_down = str(e)
            return None
        # A session from before the last logout, password or role change (or from before
        # versions existed) is anonymous.
        if user is None or session.get(SESSION_VERSION) != user.session_version:
            return None
        return WebUser(user)

    @manager.request_loader
    def load_from_token(req):
        auth = req.headers.get("Authorization", "")
        if not auth.lower().startswith("bearer "):
            return None
        user = accounts.check_token(auth[7:].strip())
        if user is None:
            g.kb_bad_token = True
            return None
        g.kb_token_user = True
        return WebUser(user)

    @app.before_request
    def set_audience():
        # Runs before the views and guard's checks: the audience of this request, from its user.
        if current_user.is_authenticated and current_user.is_staff:
            access.set_audience(access.STAFF)
        bearer = request.headers.get("Authorization", "")
        if g.get("kb_bad_token") or (bearer.lower().startswith("bearer ") and not g.get("kb_token_user")
                                     and accounts.check_token(bearer[7:].strip()) is None):
            raise Unauthorized("неверный или отозванный токен")

    @app.before_request
    def check_csrf():
        # Every POST carries the form's CSRF token, except a request signed by an API token
        # alone: a page of another site can make a browser send its cookies, never this header.
        # No endpoint: the URL or method matched no route, and its 404/405 comes next.
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.endpoint \
                and not g.get("kb_token_user"):
            csrf.protect()

    # Shared by the workers of `kb serve` (and kept over a restart): see kb.web.limitstore.
    limiter = Limiter(get_remote_address, app=app, storage_uri=limitstore.uri(index_dir), headers_enabled=False,
                      key_prefix="kb")

    def account_key() -> str:
        # The form names are compared in: `Anna` and `ＡＮＮＡ` are one account, so one counter
        # (lower() alone let full-width forms escape it).
        return "account:" + name_key((request.form.get("username") or "").strip())[:64]

    def login():
        form = LoginForm()
        error = None
        if form.validate_on_submit():
            name = form.username.data.strip()
            user = accounts.check_password(name, form.password.data)
            if user is not None:
                login_user(WebUser(user))
                session[SESSION_VERSION] = user.session_version
                record(index_dir, "login", actor=user.name, address=request.remote_addr)
                return redirect(safe_next(request.args.get("next")))
            g.kb_login_failed = True
            record(index_dir, "login.failed", actor=name[:64], address=request.remote_addr)
            error = "Неверное имя или пароль."
        elif request.method == "POST":
            error = "Введите имя и пароль."
        return render_template("login.html", form=form, error=error), 200 if error is None else 401

    failed_only = lambda resp: bool(g.get("kb_login_failed"))  # noqa: E731
    login = limiter.limit(ADDRESS_LIMIT, methods=["POST"], deduct_when=failed_only, scope="login-address")(login)
    login = limiter.limit(ACCOUNT_LIMIT, key_func=account_key, methods=["POST"], deduct_when=failed_only,
                          scope="login-account")(login)
    app.add_url_rule("/login", "auth.login", login, methods=["GET", "POST"])

    def logout():
        if current_user.is_authenticated:
            if not g.get("kb_token_user"):
                # Every session of the account ends, so a copy of this cookie is worth nothing.
                accounts.end_sessions(current_user.user.id)
            record(index_dir, "logout", actor=current_user.name, address=request.remote_addr)
        logout_user()
        session.pop(SESSION_VERSION, None)
        return redirect(url_for("views.home"))
    app.add_url_rule("/logout", "auth.logout", logout, methods=["POST"])

    @app.errorhandler(RateLimitExceeded)
    def locked(e: RateLimitExceeded):
        reset = getattr(limiter, "current_limit", None)
        until = reset.reset_at if reset is not None else time.time() + 15 * 60
        wait = max(1, math.ceil(until - time.time()))
        when = time.strftime("%H:%M", time.localtime(until))
        minutes = max(1, math.ceil(wait / 60))
        who = "этой учётной записи" if reset is not None and "account:" in str(reset.key) else "этого адреса"
        msg = (f"Слишком много неудачных попыток входа для {who}. Вход заблокирован: "
               f"попробуйте снова после {when} (через {minutes} мин).")
        record(index_dir, "login.locked", actor=(request.form.get("username") or "")[:64] or None,
               address=request.remote_addr)
        return render_template("login.html", form=LoginForm(), error=msg, locked=True), 429, {"Retry-After": str(wait)}

    @app.errorhandler(StateUnavailable)
    def state_down(e: StateUnavailable):
        # Sign-in, tokens, saved searches, uploads need the database: say why, never a traceback.
        ru, en = split_message(str(e))
        err = WebError(503, ru, en)
        if wants_json():
            return err.to_json(), 503, {"Retry-After": "30"}
        if request.endpoint == "auth.login":
            return render_template("login.html", form=LoginForm(), error=ru), 503, {"Retry-After": "30"}
        return render_template("error.html", error=err, q=""), 503, {"Retry-After": "30"}

    @app.errorhandler(CSRFError)
    def csrf_refused(e: CSRFError):
        msg = ("Форма отклонена: нет или устарел её защитный код (CSRF). Обновите страницу и отправьте "
               "форму снова.")
        if not current_user.is_authenticated and request.endpoint not in ("auth.login", "auth.logout"):
            # Every other form is for signed-in people: the reason to give is "sign in" (a
            # script's: a JSON 401), not a stale form.
            return refusal("staff")
        if wants_json():
            return {"error": {"status": 400, "message_ru": msg, "message_en": "CSRF token missing or invalid"}}, 400
        if request.endpoint == "auth.login":
            return render_template("login.html", form=LoginForm(), error=msg), 400
        return render_template("error.html", error=WebError(400, msg, "CSRF token missing or invalid"), q=""), 400

    @app.context_processor
    def who():
        # Never from the request's form: on an error page (a 413) reading the body again fails once more.
        return {"current_user": current_user,
                "logout_form": LogoutForm(formdata=None) if current_user.is_authenticated else None,
                "state_down": g.get("kb_state_down")}

