"""trainapp: the safety-training campaign system. `create_app` reads like a table of contents."""
from __future__ import annotations

import logging
import os

from flask import Flask, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine

from trainapp import config as config_module
from trainapp.extensions import (
    babel, bootstrap, csrf, db, limiter, login_manager, migrate, ping_after_idle, select_locale,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app(config: dict | None = None) -> Flask:
    """Build the app; `config` overrides the environment (tests pass their own)."""
    app = Flask(
        __name__,
        template_folder=os.path.join(ROOT, "templates"),
        static_folder=os.path.join(ROOT, "static"),
        instance_path=os.environ.get("TRAINAPP_INSTANCE", os.path.join(ROOT, "instance")),
        instance_relative_config=True,
    )
    if config is not None and config.get("TESTING"):
        app.config.update(config_module.for_tests())
    else:
        app.config.update(config_module.from_environment(app.instance_path))
    app.config.update(config or {})
    register_extensions(app)
    register_models()
    register_blueprints(app)
    register_commands(app)
    register_errorhandlers(app)
    register_request_hooks(app)
    register_template_helpers(app)
    return app


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    if app.config.get("DB_PING_AFTER_IDLE_SECONDS") is not None:
        with app.app_context():
            ping_after_idle(db.engine, app.config["DB_PING_AFTER_IDLE_SECONDS"])
    migrate.init_app(app, db, directory=os.path.join(ROOT, "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"
    csrf.init_app(app)
    bootstrap.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=os.path.join(ROOT, "trainapp", "translations"))


def register_models() -> None:
    """Import every feature's models so metadata and migrations see all tables."""
    from trainapp.audit import models as _audit  # noqa: F401
    from trainapp.auth import models as _auth  # noqa: F401
    from trainapp.org import models as _org  # noqa: F401
    from trainapp import files as _files  # noqa: F401
    from trainapp import uploads as _uploads  # noqa: F401
    from trainapp.questionbank import models as _questionbank  # noqa: F401
    from trainapp.exams import models as _exams  # noqa: F401
    from trainapp.certificates import models as _certificates  # noqa: F401
    from trainapp.courses import models as _courses  # noqa: F401
    from trainapp.spotchecks import models as _spotchecks  # noqa: F401
    from trainapp.coverage import models as _coverage  # noqa: F401
    from trainapp.drills import models as _drills  # noqa: F401


def register_blueprints(app: Flask) -> None:
    from trainapp.admin.views import bp as admin_bp
    from trainapp.certificates.admin import bp as certificate_admin_bp
    from trainapp.certificates.permits import bp as permits_bp
    from trainapp.certificates.views import bp as certificates_bp
    from trainapp.courses.archive import bp as archive_bp
    from trainapp.courses.classroom import bp as classroom_bp
    from trainapp.courses.manage import bp as course_manage_bp
    from trainapp.courses.plans import bp as plans_bp
    from trainapp.courses.views import bp as courses_bp
    from trainapp.coverage.views import bp as coverage_bp
    from trainapp.drills.views import bp as drills_bp
    from trainapp.auth.views import bp as auth_bp
    from trainapp.main.views import bp as main_bp
    from trainapp.org.views import bp as org_bp
    from trainapp.exams.manage import bp as exam_manage_bp
    from trainapp.exams.views import bp as exams_bp
    from trainapp.practice.views import bp as practice_bp
    from trainapp.questionbank.views import bp as questionbank_bp
    from trainapp.spotchecks.public import bp as spotcheck_public_bp
    from trainapp.spotchecks.views import bp as spotchecks_bp

    for bp in (main_bp, auth_bp, org_bp, admin_bp, questionbank_bp, exam_manage_bp, exams_bp, practice_bp,
               certificates_bp, permits_bp, certificate_admin_bp, courses_bp, course_manage_bp, classroom_bp,
               archive_bp, plans_bp, coverage_bp, drills_bp):
        app.register_blueprint(bp)
    for bp in (spotchecks_bp, spotcheck_public_bp):
        app.register_blueprint(bp)


def register_commands(app: Flask) -> None:
    from trainapp.demo.cli import bp as demo_bp
    from trainapp.certificates.cli import bp as certificates_cli_bp
    from trainapp.courses.cli import bp as courses_cli_bp
    from trainapp.exams.cli import bp as exams_cli_bp
    from trainapp.questionbank.cli import bp as questionbank_cli_bp

    app.register_blueprint(demo_bp)
    app.register_blueprint(exams_cli_bp)
    app.register_blueprint(certificates_cli_bp)
    app.register_blueprint(courses_cli_bp)
    app.register_blueprint(questionbank_cli_bp)


def register_errorhandlers(app: Flask) -> None:
    from flask_babel import gettext as _
    from flask_wtf.csrf import CSRFError

    messages = {
        400: lambda: _("请求无效"),
        403: lambda: _("您没有权限访问此页面"),
        404: lambda: _("页面不存在，或您无权查看"),
        413: lambda: _("上传的文件太大"),
        429: lambda: _("操作过于频繁，请稍后再试"),
        500: lambda: _("服务器出错了，我们已记录此问题"),
    }

    def render_error(error):
        code = getattr(error, "code", 500) or 500
        if code == 500:
            db.session.rollback()
        return render_template("error.html", code=code, message=messages.get(code, messages[400])()), code

    for code in messages:
        app.register_error_handler(code, render_error)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_template("error.html", code=400,
                               message=_("页面已过期或表单无效，请刷新后重试")), 400


def register_request_hooks(app: Flask) -> None:
    @app.before_request
    def require_profile():
        """A learner who has not yet told us who they are fills in the profile first."""
        if not current_user.is_authenticated or not current_user.needs_profile:
            return None
        allowed = {"auth.profile", "auth.logout", "auth.unit_search", "main.set_language", "static",
                   "bootstrap.static"}
        if request.endpoint in allowed:
            return None
        return redirect(url_for("auth.profile"))

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; frame-ancestors 'none'",
        )
        return response


def register_template_helpers(app: Flask) -> None:
    from trainapp import labels

    @app.template_filter("localtime")
    def localtime(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
        """A stored (UTC) time shown in Shanghai time."""
        import datetime as dt
        from zoneinfo import ZoneInfo

        if value is None:
            return ""
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(ZoneInfo(app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai"))).strftime(fmt)

    @app.context_processor
    def inject():
        return {
            "labels": labels,
            "label": labels.label,
            "current_locale": str(get_locale() or "zh_CN"),
        }


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """SQLite: enforce foreign keys, use WAL for concurrent readers."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


logging.getLogger("weasyprint").setLevel(logging.ERROR)
