"""Django with cache-backed sessions on Redis (its own RedisCache) and CsrfViewMiddleware.

Django has one settings object per process, so this module configures it once.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.middleware.csrf import get_token
from django.urls import path

from .apps import SECRET, BenchEnv


def start(request: HttpRequest) -> JsonResponse:
    request.session["value"] = 0
    return JsonResponse({"token": get_token(request)})


def read(request: HttpRequest) -> JsonResponse:
    if "value" not in request.session:
        return JsonResponse({"error": "session_required"}, status=401)
    return JsonResponse({"value": request.session["value"]})


def write(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        return JsonResponse({"error": "method_not_allowed"}, status=405)
    value = time.time_ns()
    request.session["value"] = value
    return JsonResponse({"value": value})


urlpatterns = [path("start", start), path("read", read), path("write", write)]


def make_app(option: str, env: BenchEnv) -> Any:
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY=SECRET,
            ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"],
            ROOT_URLCONF=__name__,
            INSTALLED_APPS=[],
            DATABASES={},
            MIDDLEWARE=[
                "django.contrib.sessions.middleware.SessionMiddleware",
                "django.middleware.csrf.CsrfViewMiddleware",
            ],
            SESSION_ENGINE="django.contrib.sessions.backends.cache",
            CACHES={
                "default": {
                    "BACKEND": "django.core.cache.backends.redis.RedisCache",
                    "LOCATION": env.redis_url(3),
                }
            },
            USE_TZ=True,
        )
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()
