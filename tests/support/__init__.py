"""What the tests share. Fixtures stay in ``tests/conftest.py``; everything else is here.

- ``app``: build the app as the server does (``build_app``), or a World on settings of its own
  (``serving``).
- ``probes``: test-only routes per access-group dependency (the ``probes`` marker mounts them).
- ``db``: the backends (``BACKENDS``, ``sqlite_only``, ``pg_only``), a plain engine on a URL,
  ``wait_until_blocked`` for PostgreSQL lock tests.
- ``factories``: ``World`` (orgs, credentials, programs, promotions, customers, ledger rows,
  reading state back) and ``bulk_body``, the one Capillary bulk body builder.
- ``invariants``: what the database must hold after any mix of requests, crashes and retries;
  ``table_counts`` and ``snapshot`` for "this request changed nothing".
- ``revoke``: a ready shop for the revoke tests and their expected answers.
- ``servers``: real ``promoledger serve`` processes (``Server``, ``running``).
- ``waiting``: ``HANG_SECONDS``, the only timeout a test may use (a hang, never a bet on speed).
"""
