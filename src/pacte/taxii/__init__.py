"""The TAXII 2.1 server of Pacte, mounted at ``/taxii2/`` with one API root, ``/taxii2/pacte/``.

Rules this package implements on top of the hub (see ``pacte.policy`` for who reads what):

* **Collections** are the caller's sharing channels (``Hub.collections_for``); ``can_write``
  follows membership and the token's role. Unreadable collections answer 404 like unknown ones.
* **Reads** (objects, object, manifest, versions) always go through ``Hub.query`` scoped to the
  collection, so the policy clause is part of every statement. Results are sorted by date added
  (the share order); ``X-TAXII-Date-Added-First/Last``, ``more`` and ``next`` are computed from
  the authorised rows only, so hidden and missing objects are indistinguishable.
* **next** is an opaque position, never a permission: each page re-runs the whole query.
* **POST** is processed synchronously: the 202 answer carries a ``complete`` status with
  per-object successes and failures (with the reason, e.g. the policy refusing TLP:RED in
  ``community``). Re-posting an identical object is a success. If every object of an envelope is
  invalid STIX, the answer is 422 and no status is kept.
* **Status** resources are kept 7 days and readable only by the organisation that posted.
* **DELETE** of an object removes, from this collection, the shares that the caller's
  organisation made of the selected versions (``match[version]``, all versions by default). It
  needs a token that may write to the collection. Shares made by other members are never removed:
  if the caller can read the object but made none of the matching shares the answer is 403; if it
  cannot read the object at all, 404. The object versions themselves stay in the store (they may
  be shared elsewhere, and their producer keeps reading them).
"""

from __future__ import annotations

from pacte.taxii.routes import API_ROOT, router

__all__ = ["API_ROOT", "router"]
