"""Benchmarks of the session layer beside its peers (``make bench``, ``make bench-scale``).

Every app serves the same three paths: ``GET /start`` gives the client a session
holding ``value`` and answers ``{"token": CSRF_TOKEN}``; ``GET /read`` requires that
session and answers its ``value``; ``POST /write`` checks the CSRF token in a header
and writes a new ``value``. One module per app (``app_*.py``) builds it.
"""
