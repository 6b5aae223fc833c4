"""WSGI entry for the exam load benchmark: the production app, with sign-in exempt from rate limits.

    gunicorn -w 4 -k gthread --threads 4 'benchmarks.wsgi_bench:app'

The app is built exactly as `trainapp:create_app()` builds it from the environment (DATABASE_URL,
SECRET_KEY, TRAINAPP_INSTANCE, RATELIMIT_STORAGE_URI). The only change: requests to the sign-in
endpoint are exempt from rate limiting, because every simulated learner signs in from 127.0.0.1 and
the per-address limit (10/minute, 50/hour) would refuse all but the first few. Every other limit
(start 30/minute per user, answer 240/minute per user, ...) stays on, so its cost is measured.
"""
from __future__ import annotations

from flask import request

from trainapp import create_app
from trainapp.extensions import limiter

app = create_app()


@limiter.request_filter
def _sign_in_exempt() -> bool:
    return request.endpoint == "auth.login"
